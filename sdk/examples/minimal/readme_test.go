package main

import (
	"os"
	"strings"
	"testing"
)

// TestREADMEShowsThisExample keeps the README's plugin example identical to this file, which CI
// builds, so the documented example always compiles.
func TestREADMEShowsThisExample(t *testing.T) {
	src, err := os.ReadFile("main.go")
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile("../../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	code := string(src)
	code = code[strings.Index(code, "package main"):]
	if !strings.Contains(string(readme), "```go\n"+code+"```") {
		t.Fatal("README.md's plugin example differs from sdk/examples/minimal/main.go (from `package main` on); copy the file into the README")
	}
}
