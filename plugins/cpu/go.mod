module github.com/hfhost/hfhost/plugins/cpu

go 1.26
