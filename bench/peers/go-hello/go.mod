module lull.dev/bench/go-hello

go 1.19
