module github.com/hfhost/hfhost/host

go 1.26
