module github.com/hfhost/hfhost/sdk

go 1.26
