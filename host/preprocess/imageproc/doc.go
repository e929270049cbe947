// Package imageproc owns image decoding and the image preprocessing that
// HuggingFace image processors (transformers 4.57.3, the "slow" PIL-based
// classes) apply before a vision model runs: conversion to RGB (or to L),
// resizing with Pillow's resampling filters at Pillow's uint8 fixed-point
// precision, center cropping, rescaling, normalization and padding, producing
// a float32 NCHW batch.
//
// The reference for every number is Python: Pillow 11.3 (with libjpeg-turbo
// 3.1 and libwebp 1.5) for decoding and resizing, and transformers for the
// processor logic. Fixtures under testdata/images are produced by
// tools/fixtures/gen_images.py; the tests require exact equality for every
// fixture (decoded pixels, resized uint8 pixels and float32 pixel_values).
//
// # Decoding
//
// Decode sniffs the format from the content (JPEG, PNG, GIF, WebP, BMP,
// TIFF), names what the input looks like when it is not a supported image,
// refuses images whose header declares more than Limits.MaxPixels pixels
// before any pixel buffer is allocated, and applies the EXIF orientation as
// PIL.ImageOps.exif_transpose does (transformers.image_utils.load_image calls
// it). To give Pillow's pixels rather than merely similar ones:
//
//   - JPEG is decoded by a libjpeg-turbo-compatible decoder (jpegdec.go:
//     baseline and progressive Huffman, islow integer IDCT, fancy chroma
//     upsampling, libjpeg's colour tables, Adobe CMYK/YCCK as Pillow's
//     "CMYK;I"); rarer variants (arithmetic coding, 12-bit, lossless,
//     non-integral sampling ratios) fall back to image/jpeg, whose IDCT and
//     upsampling differ from libjpeg by a few levels.
//   - Lossy WebP planes from golang.org/x/image/webp are converted with
//     libwebp's fancy upsampler and BT.601 fixed-point conversion.
//   - GIF returns the first frame on the full logical screen with the
//     transparent index keeping its palette colour, as Pillow does.
//   - The returned image keeps the decoded mode (Gray, Paletted, NRGBA for
//     RGB(A), Gray16, NRGBA64, CMYK); Preprocess converts each as PIL's
//     convert("RGB") or convert("L") would: alpha dropped (not composited),
//     16-bit gray clipped to 255, 16-bit colour reduced to its high byte.
//
// # Preprocessing
//
// LoadConfig/FromDir read preprocessor_config.json and dispatch on
// image_processor_type (or the older feature_extractor_type, and *Fast
// names, which share the slow class's numbers here) for the supported
// classes listed by SupportedTypes; unknown types are an error naming them.
// Fields a config leaves out take the class's __init__ defaults.
// Preprocess always converts to RGB first (as load_image does, whatever
// do_convert_rgb says); the hfhost extension field
// "do_convert_grayscale": true (with optional "num_channels": 1) converts as
// PIL's convert("L") does instead (ITU-R 601-2 luma, Pillow's integer
// rounding), for one-channel models such as MNIST.
//
// # Performance
//
// The pipeline works on raw pixel slices throughout (no per-pixel
// image.Image calls for the decoded types): Preprocess reads a decoded
// *image.NRGBA in place, fancy 4:2:0 upsampling is fused with the colour
// conversion, sequential JPEG scans are inverse-transformed one MCU row at a
// time, the resampler does two of Pillow's int32 multiply-adds per int64
// operation (exact: see unpack) and computes only the window a following
// center crop keeps, and rescale+normalize is a 256-entry table per channel.
// With GOMAXPROCS > 1, resampling (and the IDCT and colour conversion of
// progressive JPEGs) split their rows across up to GOMAXPROCS goroutines,
// and a sequential JPEG's colour conversion runs on a second goroutine a few
// rows behind the entropy decoder; each row is computed by exactly one
// goroutine with the same arithmetic, so results do not depend on the split
// (set GOMAXPROCS=1 for single-threaded work). BENCHMARKS.md has the measurements against
// transformers.
//
// Known transformers quirk avoided: its channel-dimension inference takes a
// 1xN or 3xN HWC image for channels-first; Go images carry no such
// ambiguity, and the fixtures pass input_data_format="channels_last".
package imageproc
