package speech_test

import (
	"fmt"
	"time"

	"github.com/livepush/livepush/orchestrator/speech"
)

func Example() {
	q, err := speech.New(speech.Config{
		SampleRate: 24000, Channels: 1, MaxQueued: time.Minute,
		OnEvent: func(e speech.Event) { fmt.Println(e.Kind, e.Media) },
	})
	if err != nil {
		panic(err)
	}
	q.Add(make([]byte, 2*2400), false) // 100 ms of (silent) speech
	chunk := make([]byte, 2*960)       // 40 ms, a frame's worth at 25 fps
	for range 3 {
		q.Read(chunk) // the audio pipe's writer does this once a frame
	}
	fmt.Println(q.Snapshot().Aired, "aired")
	// Output:
	// started 0s
	// finished 100ms
	// 1 aired
}
