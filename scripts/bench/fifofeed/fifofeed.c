// fifofeed: the least any FIFO feeder can do, as a floor for livepush's rows in bench.sh.
//
//   fifofeed [-r FPS -a AUDIO_BYTES_PER_SECOND] VIDEO_FIFO AUDIO_FIFO FRAME_FILE PCM_FILE FRAMES
//
// Writes one raw frame FRAMES times into VIDEO_FIFO and the whole PCM file into AUDIO_FIFO, with
// nothing else: one thread per FIFO, blocking calls, 1 MiB pipe buffers (what livepush gets without
// CAP_SYS_RESOURCE), the frame in 2 MiB-aligned memory advised for huge pages and spliced
// (vmsplice) as livepush does. No replay ring, no supervision, no Go runtime.
//
// Unpaced by default. With -r it paces as livepush does, to absolute deadlines: the first frame and
// the first audio block at once, then frame n at start + n/FPS and audio in blocks of 4 frames'
// worth, each at its first frame's deadline. The clock starts at ffmpeg's first progress report,
// read from stdin (run ffmpeg with -progress pipe:1 and pipe its stdout here).
// A reader that stops early (ffmpeg done after its -frames:v) ends a writer quietly.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define HUGE (2UL << 20)
#define AUDIO_BLOCK_FRAMES 4

static const char *video_path, *audio_path;
static char *frame, *pcm;
static size_t frame_len, pcm_len;
static long frames;

// Pacing (-r): fps == 0 means unpaced. The clock: begun is set, under mu, once stdin shows the
// first progress report; start is then valid.
static long fps, audio_rate;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int begun;
static struct timespec start;

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

// due sleeps until frame n's deadline.
static void due(long n) {
	if (!fps || n == 0)
		return;
	pthread_mutex_lock(&mu);
	while (!begun)
		pthread_cond_wait(&cond, &mu);
	pthread_mutex_unlock(&mu);
	long long ns = (long long)start.tv_nsec + (long long)n * 1000000000LL / fps;
	struct timespec t = {start.tv_sec + ns / 1000000000LL, ns % 1000000000LL};
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, NULL) == EINTR)
		;
}

static void *video(void *arg) {
	int fd = open_fifo(video_path);
	for (long n = 0; n < frames; n++) {
		due(n);
		if (put(fd, frame, frame_len, 1) != 0)
			break;
	}
	close(fd);
	return arg;
}

static void *audio(void *arg) {
	int fd = open_fifo(audio_path);
	// Unpaced: the whole file in one block, due at once.
	size_t block = fps ? (size_t)(audio_rate * AUDIO_BLOCK_FRAMES / fps) & ~(size_t)1 : pcm_len;
	for (size_t off = 0, n = 0; off < pcm_len; off += block, n += AUDIO_BLOCK_FRAMES) {
		size_t len = pcm_len - off < block ? pcm_len - off : block;
		due(n);
		if (put(fd, pcm + off, len, 0) != 0)
			break;
	}
	close(fd);
	return arg;
}

// progress starts the clock at the first "progress=" line on stdin and then drains stdin, so that
// ffmpeg's later reports never block it.
static void *progress(void *arg) {
	char line[256];
	while (fgets(line, sizeof line, stdin)) {
		if (!begun && strncmp(line, "progress=", 9) == 0) {
			pthread_mutex_lock(&mu);
			clock_gettime(CLOCK_MONOTONIC, &start);
			begun = 1;
			pthread_cond_broadcast(&cond);
			pthread_mutex_unlock(&mu);
		}
	}
	// ffmpeg exited. Before its first report it may not have opened a FIFO, and a writer's open
	// would wait for ever: give up.
	if (!begun) {
		fprintf(stderr, "fifofeed: ffmpeg exited before its first progress report\n");
		exit(1);
	}
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
	int c;
	while ((c = getopt(argc, argv, "r:a:")) != -1) {
		switch (c) {
		case 'r':
			fps = atol(optarg);
			break;
		case 'a':
			audio_rate = atol(optarg);
			break;
		default:
			goto usage;
		}
	}
	if (argc - optind != 5 || fps < 0 || (fps > 0) != (audio_rate > 0))
		goto usage;
	signal(SIGPIPE, SIG_IGN);
	video_path = argv[optind];
	audio_path = argv[optind + 1];
	frame = slurp(argv[optind + 2], &frame_len);
	pcm = slurp(argv[optind + 3], &pcm_len);
	frames = atol(argv[optind + 4]);
	pthread_t v, a, p;
	if (fps)
		pthread_create(&p, NULL, progress, NULL);
	pthread_create(&v, NULL, video, NULL);
	pthread_create(&a, NULL, audio, NULL);
	pthread_join(v, NULL);
	pthread_join(a, NULL);
	if (fps) // read ffmpeg's last reports too: it ends them with its output, after our EOF
		pthread_join(p, NULL);
	return 0;
usage:
	fprintf(stderr, "usage: fifofeed [-r FPS -a AUDIO_BYTES_PER_SECOND] VIDEO_FIFO AUDIO_FIFO FRAME_FILE PCM_FILE FRAMES\n");
	return 2;
}
