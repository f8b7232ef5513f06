// Package hugepage allocates memory for video frames on 2 MiB boundaries and
// asks Linux to back it with transparent huge pages: one page-table entry
// then stands for 512 small pages, which makes both filling a frame (fewer
// page faults) and splicing it into a pipe (fewer pages to pin) cheaper.
// Elsewhere it allocates ordinary memory. The advice is best effort: with
// THP off the memory works the same, in small pages.
package hugepage

// Size is a transparent huge page on x86-64 and arm64 with 4 KiB pages.
const Size = 2 << 20
