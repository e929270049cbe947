package audio

import (
	"context"
	"math"
	"runtime"
	"testing"
)

// BenchmarkWhisperLogMel30s times Whisper (80 mels) on 30 s of 16 kHz audio, one clip, one
// goroutine: the Go side of BENCHMARKS.md.
func BenchmarkWhisperLogMel30s(b *testing.B) {
	benchWhisper(b, "whisper-tiny")
}

// BenchmarkWhisperLogMel30s128 is the same with 128 mel bins (whisper-large-v3).
func BenchmarkWhisperLogMel30s128(b *testing.B) {
	benchWhisper(b, "whisper-large-v3")
}

func benchWhisper(b *testing.B, cfg string) {
	x := decodeFixture(b, "flac/long_16000_1ch_pcm16.flac").Mono()[:480000]
	e, err := FromDir(fixtures + "/configs/" + cfg)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	cpu0 := processCPU()
	for b.Loop() {
		if _, err := e.Extract(ctx, [][]float32{x}); err != nil {
			b.Fatal(err)
		}
	}
	if cpu := processCPU() - cpu0; cpu > 0 {
		b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N)/1e6, "cpu-ms/op")
	}
}

// BenchmarkASTFbank10s times AST on 10.24 s (1024 frames) of 16 kHz audio.
func BenchmarkASTFbank10s(b *testing.B) {
	x := decodeFixture(b, "flac/long_16000_1ch_pcm16.flac").Mono()[:163840]
	e, err := FromDir(fixtures + "/configs/ast-finetuned-audioset-10-10-0.4593")
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := e.Extract(context.Background(), [][]float32{x}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkResample44100To16000 resamples 10 s of 44.1 kHz audio with the default kernel.
func BenchmarkResample44100To16000(b *testing.B) {
	x := make([]float32, 441000)
	for i := range x {
		x[i] = float32(math.Sin(float64(i) * 0.01))
	}
	for b.Loop() {
		if _, err := Resample(x, 44100, 16000); err != nil {
			b.Fatal(err)
		}
	}
}

// The FFT against the alternative the brief names: a precomputed real DFT matrix for n=400.
func BenchmarkRFFT400(b *testing.B) {
	p, _ := newRFFT(400)
	s := p.scratch()
	x := make([]float64, 400)
	for i := range x {
		x[i] = math.Sin(float64(i))
	}
	out := make([]complex128, 201)
	for b.Loop() {
		p.transform(out, x, s)
	}
}

func BenchmarkDFTMatrix400(b *testing.B) {
	const n = 400
	cosm := make([]float64, (n/2+1)*n)
	sinm := make([]float64, (n/2+1)*n)
	for k := 0; k <= n/2; k++ {
		for j := 0; j < n; j++ {
			s, c := math.Sincos(-2 * math.Pi * float64(k*j%n) / n)
			cosm[k*n+j], sinm[k*n+j] = c, s
		}
	}
	x := make([]float64, n)
	for i := range x {
		x[i] = math.Sin(float64(i))
	}
	out := make([]complex128, n/2+1)
	for b.Loop() {
		for k := range out {
			var re, im float64
			c, s := cosm[k*n:(k+1)*n], sinm[k*n:(k+1)*n]
			for j, v := range x {
				re += v * c[j]
				im += v * s[j]
			}
			out[k] = complex(re, im)
		}
	}
}

// BenchmarkWhisperLogMel30sWorkers is BenchmarkWhisperLogMel30s with the frames of the clip
// spread over GOMAXPROCS goroutines.
func BenchmarkWhisperLogMel30sWorkers(b *testing.B) {
	x := decodeFixture(b, "flac/long_16000_1ch_pcm16.flac").Mono()[:480000]
	e, err := FromDir(fixtures + "/configs/whisper-tiny")
	if err != nil {
		b.Fatal(err)
	}
	e.(*Whisper).Workers = runtime.GOMAXPROCS(0)
	for b.Loop() {
		if _, err := e.Extract(context.Background(), [][]float32{x}); err != nil {
			b.Fatal(err)
		}
	}
}
