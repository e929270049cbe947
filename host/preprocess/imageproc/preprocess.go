package imageproc

import (
	"fmt"
	"image"
	"math"
)

// Batch is a preprocessed batch of images, ready to be a model's
// pixel_values input.
type Batch struct {
	// Data holds the pixel values, float32, channels first, C order.
	Data []float32
	// Shape is [N, C, H, W].
	Shape []int64
	// OriginalSizes holds each input's [height, width] before resizing, as
	// detection and segmentation post-processing needs it.
	OriginalSizes [][2]int
	// ResizedSizes holds each image's [height, width] after resizing and
	// cropping, before padding (DETR/YOLOS post-processing and masks use it).
	ResizedSizes [][2]int
	// PixelMask is set when the processor pads (DETR/YOLOS do_pad): int64
	// [N, H, W], 1 for real pixels and 0 for padding, as DETR's pixel_mask.
	PixelMask []int64
}

// Preprocess converts, resizes, crops, rescales, normalizes and pads imgs as
// the HF image processor p describes, and stacks them into one batch. Images
// that end up with different sizes (processors that keep the aspect ratio and
// do not pad) cannot be stacked and are an error: preprocess them one at a
// time.
func (p *Processor) Preprocess(imgs []image.Image) (*Batch, error) {
	if len(imgs) == 0 {
		return nil, fmt.Errorf("imageproc: Preprocess got no images; want at least one")
	}
	type item struct {
		data []float32
		h, w int
	}
	items := make([]item, len(imgs))
	b := &Batch{OriginalSizes: make([][2]int, len(imgs)), ResizedSizes: make([][2]int, len(imgs))}
	C := p.Channels()
	for i, img := range imgs {
		px, err := toPixelsView(img, C)
		if err != nil {
			return nil, fmt.Errorf("imageproc: image %d: %w", i, err)
		}
		b.OriginalSizes[i] = [2]int{px.H, px.W}
		data, h, w, err := p.one(px)
		if err != nil {
			return nil, fmt.Errorf("imageproc: image %d (%dx%d): %w", i, px.W, px.H, err)
		}
		items[i] = item{data, h, w}
		b.ResizedSizes[i] = [2]int{h, w}
	}
	H, W := items[0].h, items[0].w
	padBatch := p.DoPad && (p.Kind == KindDetr || p.Kind == KindYolos)
	if padBatch {
		if p.PadSize.hasHW() {
			H, W = p.PadSize.Height, p.PadSize.Width
		} else {
			for _, it := range items {
				H, W = max(H, it.h), max(W, it.w)
			}
		}
		if int64(H)*int64(W) > maxResizedPixels {
			return nil, fmt.Errorf("imageproc: padding to %dx%d is over %d pixels", W, H, int64(maxResizedPixels))
		}
		for i, it := range items {
			if it.h > H || it.w > W {
				return nil, fmt.Errorf("imageproc: image %d is %dx%d after resizing, larger than pad_size %dx%d", i, it.w, it.h, W, H)
			}
		}
		b.PixelMask = make([]int64, len(items)*H*W)
	}
	b.Shape = []int64{int64(len(items)), int64(C), int64(H), int64(W)}
	if len(items) == 1 && !padBatch {
		// One image: its own buffer is the batch.
		b.Data = items[0].data
		return b, nil
	}
	b.Data = make([]float32, len(items)*C*H*W)
	for i, it := range items {
		if !padBatch && (it.h != H || it.w != W) {
			return nil, fmt.Errorf("imageproc: image %d is %dx%d after preprocessing but image 0 is %dx%d; this processor does not pad, so preprocess images of different aspect ratios one at a time", i, it.w, it.h, W, H)
		}
		dst := b.Data[i*C*H*W:]
		for c := 0; c < C; c++ {
			for y := 0; y < it.h; y++ {
				copy(dst[c*H*W+y*W:c*H*W+y*W+it.w], it.data[c*it.h*it.w+y*it.w:c*it.h*it.w+(y+1)*it.w])
			}
		}
		if padBatch {
			m := b.PixelMask[i*H*W:]
			for y := 0; y < it.h; y++ {
				for x := 0; x < it.w; x++ {
					m[y*W+x] = 1
				}
			}
		}
	}
	return b, nil
}

// maxResizedPixels bounds a resize target (a very elongated image resized by
// its shortest edge could otherwise ask for gigabytes).
const maxResizedPixels = 1 << 26

// one runs the per-image steps and returns channels-first float32 data.
func (p *Processor) one(px *pixels) ([]float32, int, int, error) {
	var err error
	if p.DoCenterCrop && int64(p.CropSize.Height)*int64(p.CropSize.Width) > maxResizedPixels {
		return nil, 0, 0, fmt.Errorf("crop_size %v is over %d pixels", p.CropSize, int64(maxResizedPixels))
	}
	cropped := false
	if p.DoResize {
		var crop [2]int // height, width of a center crop to fold into the resize
		if p.DoCenterCrop {
			crop = [2]int{p.CropSize.Height, p.CropSize.Width}
		}
		if px, cropped, err = p.resize(px, crop); err != nil {
			return nil, 0, 0, err
		}
	}
	if p.DoCenterCrop && !cropped {
		px = centerCrop(px, p.CropSize.Height, p.CropSize.Width)
	}
	C, S, H, W := px.C, px.S, px.H, px.W
	out := make([]float32, C*H*W)
	// Every output value is a function of one uint8 sample and its channel,
	// so a 256-entry table per channel, filled with the same float operations
	// as transformers (rescale in float64 cast to float32, then (v - mean) /
	// std in float32), gives identical values.
	for c := 0; c < C; c++ {
		var lut [256]float32
		for v := range lut {
			f := float32(v)
			if p.DoRescale {
				f = float32(float64(v) * p.RescaleFactor)
			}
			if p.DoNormalize {
				f = (f - float32(p.ImageMean[c])) / float32(p.ImageStd[c])
			}
			lut[v] = f
		}
		o := out[c*H*W : (c+1)*H*W]
		src := px.Pix[c:]
		for i := range o {
			o[i] = lut[src[i*S]]
		}
	}
	if p.Kind == KindDPT && p.DoPad {
		d := int64(p.SizeDivisor)
		if (int64(H)+d-1)/d*d*((int64(W)+d-1)/d*d) > maxResizedPixels {
			return nil, 0, 0, fmt.Errorf("padding %dx%d to a multiple of size_divisor %d is over %d pixels", W, H, d, int64(maxResizedPixels))
		}
		out, H, W = padCenterDPT(out, C, H, W, p.SizeDivisor)
	}
	return out, H, W, nil
}

// resize computes the output size as the processor class does and resizes
// with Pillow's filter. A center crop of crop (height, width; zero for none)
// that fits inside the resized image is done by computing only the cropped
// window (the same pixels centerCrop would keep); cropped reports that.
func (p *Processor) resize(px *pixels, crop [2]int) (out *pixels, cropped bool, err error) {
	h, w := px.H, px.W
	s := p.Size
	var oh, ow int
	switch p.Kind {
	case KindConvNext:
		if s.hasHW() {
			return nil, false, fmt.Errorf("ConvNextImageProcessor wants size {shortest_edge}, got %v", s)
		}
		se := s.ShortestEdge
		if se < 384 {
			short := int(float64(se) / p.CropPct)
			oh, ow = shortestEdgeSize(h, w, short, 0)
			if se <= oh && se <= ow {
				top, left := floorDiv(oh-se, 2), floorDiv(ow-se, 2)
				r, err := resizeWindow(px, ow, oh, p.Resample, image.Rect(left, top, left+se, top+se))
				return r, false, err
			}
			r, err := resize(px, ow, oh, p.Resample)
			if err != nil {
				return nil, false, err
			}
			return centerCrop(r, se, se), false, nil
		}
		oh, ow = se, se
	case KindDetr, KindYolos:
		switch {
		case s.ShortestEdge > 0 && s.LongestEdge > 0:
			oh, ow = detrSize(h, w, s.ShortestEdge, s.LongestEdge, p.Kind == KindYolos)
		case s.MaxHeight > 0 && s.MaxWidth > 0:
			// get_image_size_for_max_height_width
			scale := math.Min(float64(s.MaxHeight)/float64(h), float64(s.MaxWidth)/float64(w))
			oh, ow = int(float64(h)*scale), int(float64(w)*scale)
		case s.hasHW():
			oh, ow = s.Height, s.Width
		default:
			return nil, false, fmt.Errorf("%s wants size {shortest_edge, longest_edge}, {max_height, max_width} or {height, width}, got %v", p.Kind, s)
		}
	case KindDPT:
		oh, ow = dptSize(h, w, s.Height, s.Width, p.KeepAspectRatio, p.EnsureMultipleOf)
	default:
		switch {
		case s.hasHW():
			oh, ow = s.Height, s.Width
		case s.ShortestEdge > 0:
			oh, ow = shortestEdgeSize(h, w, s.ShortestEdge, s.LongestEdge)
		case s.LongestEdge > 0:
			oh, ow = longestEdgeSize(h, w, s.LongestEdge)
		default:
			return nil, false, fmt.Errorf("size %v has no usable keys", s)
		}
	}
	if oh <= 0 || ow <= 0 {
		return nil, false, fmt.Errorf("resizing a %dx%d image with size %v gives %dx%d; the image is too small or too elongated for this processor", w, h, s, ow, oh)
	}
	if int64(oh)*int64(ow) > maxResizedPixels {
		return nil, false, fmt.Errorf("resizing a %dx%d image with size %v gives %dx%d, over %d pixels; the image is too elongated for this processor", w, h, s, ow, oh, int64(maxResizedPixels))
	}
	if crop[0] > 0 && crop[1] > 0 && crop[0] <= oh && crop[1] <= ow {
		top, left := floorDiv(oh-crop[0], 2), floorDiv(ow-crop[1], 2)
		r, err := resizeWindow(px, ow, oh, p.Resample, image.Rect(left, top, left+crop[1], top+crop[0]))
		return r, err == nil, err
	}
	r, err := resize(px, ow, oh, p.Resample)
	return r, false, err
}

// shortestEdgeSize is transformers.image_transforms.get_resize_output_image_size
// with default_to_square=False and an optional max_size.
func shortestEdgeSize(h, w, size, maxSize int) (int, int) {
	short, long := h, w
	if w <= h {
		short, long = w, h
	}
	newShort, newLong := size, int(float64(size*long)/float64(short))
	if maxSize > 0 && newLong > maxSize {
		newShort, newLong = int(float64(maxSize*newShort)/float64(newLong)), maxSize
	}
	if w <= h {
		return newLong, newShort
	}
	return newShort, newLong
}

// longestEdgeSize scales the longest edge to size keeping the aspect ratio,
// rounding as transformers' SAM processor (_get_preprocess_shape) does; a
// {"longest_edge"}-only size dict has no shared definition in the supported
// classes, so this is the hfhost reading of it.
func longestEdgeSize(h, w, size int) (int, int) {
	scale := float64(size) * 1.0 / float64(max(h, w))
	return int(float64(h)*scale + 0.5), int(float64(w)*scale + 0.5)
}

// pyRound is Python's round() on floats: halves go to the even integer.
func pyRound(x float64) float64 { return math.RoundToEven(x) }

// detrSize is DETR's (yolos=false) or YOLOS's get_size_with_aspect_ratio.
func detrSize(h, w, size, maxSize int, yolos bool) (int, int) {
	fsize := float64(size)
	rawSize := 0.0
	haveRaw := false
	minO := float64(min(h, w))
	maxO := float64(max(h, w))
	if maxO/minO*fsize > float64(maxSize) {
		rawSize = float64(maxSize) * minO / maxO
		size = int(pyRound(rawSize))
		haveRaw = true
	}
	var oh, ow int
	same := (h <= w && h == size) || (w <= h && w == size)
	switch {
	case !yolos && same:
		oh, ow = h, w
	case w < h:
		ow = size
		if haveRaw {
			oh = int(rawSize * float64(h) / float64(w))
		} else {
			oh = int(float64(size*h) / float64(w))
		}
	case yolos && same:
		oh, ow = h, w
	default:
		oh = size
		if haveRaw {
			ow = int(rawSize * float64(w) / float64(h))
		} else {
			ow = int(float64(size*w) / float64(h))
		}
	}
	if yolos {
		ow -= ow % 16
		oh -= oh % 16
	}
	return oh, ow
}

// dptSize is DPT's get_resize_output_image_size.
func dptSize(h, w, outH, outW int, keepAspect bool, multiple int) (int, int) {
	scaleH := float64(outH) / float64(h)
	scaleW := float64(outW) / float64(w)
	if keepAspect {
		if math.Abs(1-scaleW) < math.Abs(1-scaleH) {
			scaleH = scaleW
		} else {
			scaleW = scaleH
		}
	}
	constrain := func(val float64) int {
		m := float64(multiple)
		x := pyRound(val/m) * m
		if x < 0 {
			x = math.Ceil(val/m) * m
		}
		return int(x)
	}
	return constrain(scaleH * float64(h)), constrain(scaleW * float64(w))
}

// centerCrop is transformers.image_transforms.center_crop on uint8 data,
// zero-padding when the crop is larger than the image.
func centerCrop(px *pixels, ch, cw int) *pixels {
	if ch == px.H && cw == px.W {
		return px
	}
	out := newPixels(cw, ch, px.C)
	top := floorDiv(px.H-ch, 2)
	left := floorDiv(px.W-cw, 2)
	// When the crop is larger than the image, transformers zero-pads the
	// image to the crop size (centred, extra pixel after) first; the window
	// then starts at the padded canvas origin, which is the same as reading
	// source pixel (top+y, left+x) and treating out-of-range ones as zero.
	C, S := px.C, px.S
	for y := 0; y < ch; y++ {
		sy := top + y
		if sy < 0 || sy >= px.H {
			continue
		}
		for x := 0; x < cw; x++ {
			sx := left + x
			if sx < 0 || sx >= px.W {
				continue
			}
			copy(out.Pix[(y*cw+x)*C:(y*cw+x)*C+C], px.Pix[(sy*px.W+sx)*S:(sy*px.W+sx)*S+C])
		}
	}
	return out
}

func floorDiv(a, b int) int {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// padCenterDPT is DPTImageProcessor.pad_image: pad each spatial size up to a
// multiple of div, half before (rounded down) and the rest after, with 0.
func padCenterDPT(data []float32, C, H, W, div int) ([]float32, int, int) {
	nh := (H + div - 1) / div * div
	nw := (W + div - 1) / div * div
	if nh == H && nw == W {
		return data, H, W
	}
	top := (nh - H) / 2
	left := (nw - W) / 2
	out := make([]float32, C*nh*nw)
	for c := 0; c < C; c++ {
		for y := 0; y < H; y++ {
			copy(out[c*nh*nw+(y+top)*nw+left:], data[c*H*W+y*W:c*H*W+(y+1)*W])
		}
	}
	return out, nh, nw
}
