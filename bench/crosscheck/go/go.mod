module testsmith.dev/bench/crosscheck/go

go 1.19
