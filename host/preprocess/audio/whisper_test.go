package audio

import (
	"context"
	"testing"
)

// TestWhisperWorkersSameResult checks that spreading frames over goroutines changes nothing.
func TestWhisperWorkersSameResult(t *testing.T) {
	x := decodeFixture(t, "wav/mix_16000_1ch_pcm16.wav").Mono()
	e, err := FromDir(fixtures + "/configs/whisper-tiny")
	if err != nil {
		t.Fatal(err)
	}
	w := e.(*Whisper)
	one, err := w.Extract(context.Background(), [][]float32{x, x[:5000]})
	if err != nil {
		t.Fatal(err)
	}
	w.Workers = 3
	three, err := w.Extract(context.Background(), [][]float32{x, x[:5000]})
	if err != nil {
		t.Fatal(err)
	}
	if d, at := maxAbsDiff(one.Data, three.Data); d != 0 {
		t.Fatalf("Workers=3 differs from Workers=1 by %g at %d", d, at)
	}
}
