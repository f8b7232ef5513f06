// Command livepush keeps an RTMP stream on air from a still image and speech audio.
package main

func main() {}
