# livepush: a still image + speech audio kept on air over RTMP, with Debian's ffmpeg bundled.
#
#   docker build -t livepush .
#   docker run --rm livepush stream --help
#   docker run --rm --network=host -v "$PWD:/data:ro" livepush \
#     stream --image /data/a.png --audio /data/a.wav -o rtmp://host/live/KEY

# ---- build: a static livepush binary -----------------------------------------------------------
FROM golang:1.25-bookworm AS build
# go.mod says go 1.25: build with the image's own Go, never download another toolchain.
ENV GOTOOLCHAIN=local CGO_ENABLED=0
WORKDIR /src
# Dependencies first, in their own layer, so that a source change does not download them again.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# The context has no .git to stamp the version from: docker build --build-arg VERSION=$(git describe --always --dirty) .
ARG VERSION
RUN go build -trimpath -ldflags="-s -w -X main.buildVersion=${VERSION}" -o /out/livepush ./cmd/livepush

# ---- run: Debian's ffmpeg and the binary, as a non-root user -----------------------------------
FROM debian:bookworm-slim
# ffmpeg: livepush runs it as a child process (libx264, aac, flv/rtmp, rtmps through gnutls).
# ca-certificates: the trust store that gnutls uses to verify an rtmps:// server's certificate;
#   without it a verifying TLS connection cannot succeed. Plain rtmp:// does not need it.
# The dpkg excludes leave out, while installing, the files of three of ffmpeg's dependencies that
#   ffmpeg never loads here: Mesa's DRI drivers (dlopen'ed only when an OpenGL context is made, which
#   the opengl output device and SDL do and livepush does not) and the LLVM and Z3 libraries only
#   those drivers link. About 160 MB less; the packages stay installed as far as dpkg and apt know.
#   The exclude file is removed again so that images built on this one install packages whole.
RUN printf '%s\n' 'path-exclude=/usr/lib/*/dri/*' 'path-exclude=/usr/lib/*/libLLVM-*.so*' \
      'path-exclude=/usr/lib/*/libz3.so*' > /etc/dpkg/dpkg.cfg.d/livepush-excludes \
 && apt-get update \
 && apt-get install -y --no-install-recommends ffmpeg ca-certificates \
 && rm /etc/dpkg/dpkg.cfg.d/livepush-excludes \
 && apt-get clean \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/* /var/log/apt/* /var/log/dpkg.log \
 && ffmpeg -nostdin -hide_banner -loglevel error -f lavfi -i testsrc2=s=64x64:d=0.2 -f lavfi -i sine=d=0.2 \
      -c:v libx264 -c:a aac -f flv -y /dev/null
RUN groupadd --system --gid 10001 livepush \
 && useradd --system --uid 10001 --gid 10001 --home-dir /home/livepush --create-home \
      --shell /usr/sbin/nologin livepush
COPY --from=build /out/livepush /usr/local/bin/livepush
# livepush makes its FIFOs under os.TempDir(): /tmp is world-writable (1777) in the image; under
# a read-only root filesystem mount a writable volume (e.g. an emptyDir) at /tmp.
ENV TMPDIR=/tmp
USER 10001:10001
WORKDIR /home/livepush
ENTRYPOINT ["/usr/local/bin/livepush"]
CMD ["--help"]
