// Package imageproc owns image decoding and the image preprocessing that
// HuggingFace image processors (transformers 4.57.3, the "slow" PIL-based
// classes) apply before a vision model runs: conversion to RGB (or to L),
// resizing with Pillow's resampling filters at Pillow's uint8 fixed-point
// precision, center cropping, rescaling, normalization and padding, producing
// a float32 NCHW batch.
//
// The reference for every number is Python: Pillow 11.3 for decoding and
// resizing and transformers for the processor logic. Fixtures under
// testdata/images are produced by tools/fixtures/gen_images.py.
//
// Decoding (Decode) sniffs the format from the content, refuses images whose
// header declares more pixels than Limits.MaxPixels before any pixel buffer is
// allocated, and applies the EXIF orientation as PIL.ImageOps.exif_transpose
// does (transformers.image_utils.load_image calls it). Baseline JPEG chroma
// upsampling and YCbCr->RGB conversion follow libjpeg-turbo (fancy
// upsampling, islow colour tables) and lossy WebP conversion follows libwebp's
// fancy upsampler, because Pillow decodes through those libraries; the JPEG
// inverse DCT is Go's, so JPEG pixels can differ from Pillow's by a few
// levels (see BENCHMARKS.md and the parity tests for the measured bound).
//
// Processor configs (preprocessor_config.json) are dispatched on
// image_processor_type (or the older feature_extractor_type). The hfhost
// extension field "do_convert_grayscale": true converts to one channel as
// PIL's convert("L") does (ITU-R 601-2 luma, integer rounding).
package imageproc
