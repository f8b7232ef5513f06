module github.com/livepush/livepush

go 1.24
