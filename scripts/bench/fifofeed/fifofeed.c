// fifofeed: the least any FIFO feeder can do, as a floor for livepush's unpaced rows in bench.sh.
//
//   fifofeed VIDEO_FIFO AUDIO_FIFO FRAME_FILE PCM_FILE FRAMES
//
// Writes one raw frame FRAMES times into VIDEO_FIFO and the whole PCM file into AUDIO_FIFO, with
// nothing else: one thread per FIFO, blocking calls, 1 MiB pipe buffers (what livepush gets without
// CAP_SYS_RESOURCE), the frame in 2 MiB-aligned memory advised for huge pages and spliced
// (vmsplice) as livepush does. No pacing, no replay ring, no supervision, no Go runtime.
// A reader that stops early (ffmpeg done after its -frames:v) ends a writer quietly.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#define HUGE (2UL << 20)

static const char *video_path, *audio_path;
static char *frame, *pcm;
static size_t frame_len, pcm_len;
static long frames;

static int open_fifo(const char *path) {
	int fd = open(path, O_WRONLY); // blocks until ffmpeg opens the other end
	if (fd < 0) {
		perror(path);
		exit(1);
	}
	fcntl(fd, F_SETPIPE_SZ, 1 << 20);
	return fd;
}

// put writes b whole into fd, spliced or copied; it returns 0 once done and -1 if the reader has
// gone (EPIPE), and exits on any other error.
static int put(int fd, char *b, size_t len, int splice) {
	for (size_t off = 0; off < len;) {
		struct iovec iov = {b + off, len - off};
		ssize_t w = splice ? vmsplice(fd, &iov, 1, 0) : write(fd, b + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EPIPE)
			return -1;
		if (w <= 0) {
			perror(splice ? "vmsplice" : "write");
			exit(1);
		}
		off += w;
	}
	return 0;
}

static void *video(void *arg) {
	int fd = open_fifo(video_path);
	for (long n = 0; n < frames && put(fd, frame, frame_len, 1) == 0; n++)
		;
	close(fd);
	return arg;
}

static void *audio(void *arg) {
	int fd = open_fifo(audio_path);
	put(fd, pcm, pcm_len, 0);
	close(fd);
	return arg;
}

static char *slurp(const char *path, size_t *len) {
	int fd = open(path, O_RDONLY);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		perror(path);
		exit(1);
	}
	*len = st.st_size;
	size_t size = (*len + HUGE - 1) / HUGE * HUGE;
	char *b = aligned_alloc(HUGE, size ? size : HUGE);
	madvise(b, size, MADV_HUGEPAGE);
	for (size_t off = 0; off < *len;) {
		ssize_t r = read(fd, b + off, *len - off);
		if (r <= 0) {
			perror(path);
			exit(1);
		}
		off += r;
	}
	close(fd);
	return b;
}

int main(int argc, char **argv) {
	if (argc != 6) {
		fprintf(stderr, "usage: fifofeed VIDEO_FIFO AUDIO_FIFO FRAME_FILE PCM_FILE FRAMES\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	video_path = argv[1];
	audio_path = argv[2];
	frame = slurp(argv[3], &frame_len);
	pcm = slurp(argv[4], &pcm_len);
	frames = atol(argv[5]);
	pthread_t v, a;
	pthread_create(&v, NULL, video, NULL);
	pthread_create(&a, NULL, audio, NULL);
	pthread_join(v, NULL);
	pthread_join(a, NULL);
	return 0;
}
