// Package audio owns everything hfhost does to sound before a model sees it: decoding WAV, FLAC
// and MP3 from bytes (format sniffed from content), downmixing to mono, resampling to the model's
// rate, and the HuggingFace feature extractors that read preprocessor_config.json
// (WhisperFeatureExtractor, Wav2Vec2FeatureExtractor, ASTFeatureExtractor).
//
// Every numeric path is checked against HF's own Python code: the fixtures under
// testdata/audio are written by tools/fixtures/gen_audio.py with the pinned reference stack, and
// testdata/audio/README.md says where every file and number comes from.
//
// # Decoding
//
// [Decode] reads a whole stream (bounded by [Limits]) and returns a [Clip] with one float32 slice
// per channel, scaled as libsndfile scales (PCM divided by 2^(bits-1), 8-bit WAV offset by 128).
// WAV is parsed here; FLAC is decoded with github.com/mewkiz/flac and MP3 with
// github.com/hajimehoshi/go-mp3 (both pure Go). Header values are checked against the limits
// before any sample buffer is allocated, and a panic inside a third-party decoder is turned into
// an error.
//
// # Resampling
//
// [Resample] is a windowed-sinc resampler with the kernel of torchaudio.functional.resample's
// default (sinc_interp_hann, lowpass_filter_width 6, rolloff 0.99), which is what transformers'
// ASR pipeline means to call on arrays whose rate differs from the model's. (In transformers
// 4.57.3 that call passes the input rate twice, F.resample(x, sr_in, sr_in, sr_model), so the
// pipeline does not resample at all and treats the array as if it were at the model's rate: a
// bug this package does not copy.) Files given to the pipeline are decoded and resampled by
// ffmpeg (swresample), which this package does not imitate. [ResampleWith] takes other kernels
// (a Kaiser window, a wider filter).
//
// # Features
//
// [LoadExtractor] and [FromDir] read preprocessor_config.json and return an [Extractor]. The
// Whisper log-mel spectrogram matches transformers' numpy implementation
// (_np_extract_fbank_features); AST matches transformers' numpy path (the one it takes when
// torchaudio is not installed) and is also checked against its torchaudio.compliance.kaldi path.
// The FFT is a mixed-radix (2, 3, 4, 5, generic) complex FFT with a real-input wrapper, so
// n_fft 400 (2^4*5^2) needs no Bluestein step.
package audio
