// Package npy reads and writes NumPy .npy files (format versions 1.0-3.0, C order, little-endian)
// so that reference arrays computed by HF transformers in Python can be compared in Go tests.
package npy

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"regexp"
	"strconv"
	"strings"
)

// Array is a decoded .npy array. Exactly one of the data slices is set, chosen by DType.
type Array struct {
	// DType is the NumPy type string without byte order, e.g. "f4", "f8", "i8", "i4", "u1", "b1".
	DType string
	Shape []int
	F32   []float32
	F64   []float64
	I64   []int64
	I32   []int32
	U8    []uint8
	Bool  []bool
}

// Len is the number of elements the shape describes.
func (a *Array) Len() int {
	n := 1
	for _, d := range a.Shape {
		n *= d
	}
	return n
}

// Float32s returns the data converted to float32, whatever the stored numeric type.
func (a *Array) Float32s() []float32 {
	if a.F32 != nil {
		return a.F32
	}
	out := make([]float32, a.Len())
	for i := range out {
		switch {
		case a.F64 != nil:
			out[i] = float32(a.F64[i])
		case a.I64 != nil:
			out[i] = float32(a.I64[i])
		case a.I32 != nil:
			out[i] = float32(a.I32[i])
		case a.U8 != nil:
			out[i] = float32(a.U8[i])
		}
	}
	return out
}

// Int64s returns the data converted to int64 for integer and bool arrays.
func (a *Array) Int64s() []int64 {
	if a.I64 != nil {
		return a.I64
	}
	out := make([]int64, a.Len())
	for i := range out {
		switch {
		case a.I32 != nil:
			out[i] = int64(a.I32[i])
		case a.U8 != nil:
			out[i] = int64(a.U8[i])
		case a.Bool != nil:
			if a.Bool[i] {
				out[i] = 1
			}
		}
	}
	return out
}

// ReadFile reads a .npy file.
func ReadFile(path string) (*Array, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	a, err := Read(bufio.NewReader(f))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return a, nil
}

var (
	descrRe = regexp.MustCompile(`'descr':\s*'([<>|=])([a-z]\d+)'`)
	orderRe = regexp.MustCompile(`'fortran_order':\s*(True|False)`)
	shapeRe = regexp.MustCompile(`'shape':\s*\(([^)]*)\)`)
)

// Read decodes one .npy stream.
func Read(r io.Reader) (*Array, error) {
	var magic [8]byte
	if _, err := io.ReadFull(r, magic[:]); err != nil {
		return nil, fmt.Errorf("npy: reading magic: %w", err)
	}
	if string(magic[:6]) != "\x93NUMPY" {
		return nil, fmt.Errorf("npy: not a .npy file (bad magic)")
	}
	var hlen int
	switch magic[6] {
	case 1:
		var n uint16
		if err := binary.Read(r, binary.LittleEndian, &n); err != nil {
			return nil, err
		}
		hlen = int(n)
	case 2, 3:
		var n uint32
		if err := binary.Read(r, binary.LittleEndian, &n); err != nil {
			return nil, err
		}
		hlen = int(n)
	default:
		return nil, fmt.Errorf("npy: unsupported format version %d", magic[6])
	}
	header := make([]byte, hlen)
	if _, err := io.ReadFull(r, header); err != nil {
		return nil, fmt.Errorf("npy: reading header: %w", err)
	}
	h := string(header)
	m := descrRe.FindStringSubmatch(h)
	if m == nil {
		return nil, fmt.Errorf("npy: unsupported descr in header %q", h)
	}
	if m[1] == ">" {
		return nil, fmt.Errorf("npy: big-endian arrays are not supported")
	}
	if o := orderRe.FindStringSubmatch(h); o == nil || o[1] == "True" {
		return nil, fmt.Errorf("npy: only C-order arrays are supported")
	}
	s := shapeRe.FindStringSubmatch(h)
	if s == nil {
		return nil, fmt.Errorf("npy: no shape in header %q", h)
	}
	a := &Array{DType: m[2]}
	for _, part := range strings.Split(s[1], ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		d, err := strconv.Atoi(part)
		if err != nil {
			return nil, fmt.Errorf("npy: bad shape %q", s[1])
		}
		a.Shape = append(a.Shape, d)
	}
	n := a.Len()
	var err error
	switch a.DType {
	case "f4":
		a.F32 = make([]float32, n)
		err = binary.Read(r, binary.LittleEndian, a.F32)
	case "f8":
		a.F64 = make([]float64, n)
		err = binary.Read(r, binary.LittleEndian, a.F64)
	case "i8":
		a.I64 = make([]int64, n)
		err = binary.Read(r, binary.LittleEndian, a.I64)
	case "i4":
		a.I32 = make([]int32, n)
		err = binary.Read(r, binary.LittleEndian, a.I32)
	case "u1":
		a.U8 = make([]uint8, n)
		_, err = io.ReadFull(r, a.U8)
	case "b1":
		b := make([]byte, n)
		_, err = io.ReadFull(r, b)
		a.Bool = make([]bool, n)
		for i, v := range b {
			a.Bool[i] = v != 0
		}
	default:
		return nil, fmt.Errorf("npy: unsupported dtype %q", a.DType)
	}
	if err != nil {
		return nil, fmt.Errorf("npy: reading %d elements of %s: %w", n, a.DType, err)
	}
	return a, nil
}

// WriteFloat32 writes a float32 array as a version 1.0 .npy file.
func WriteFloat32(w io.Writer, shape []int, data []float32) error {
	dims := make([]string, len(shape))
	for i, d := range shape {
		dims[i] = strconv.Itoa(d)
	}
	tuple := strings.Join(dims, ", ")
	if len(shape) == 1 {
		tuple += ","
	}
	h := fmt.Sprintf("{'descr': '<f4', 'fortran_order': False, 'shape': (%s), }", tuple)
	// Pad so that magic(6)+version(2)+len(2)+header+'\n' is a multiple of 64.
	total := 10 + len(h) + 1
	h += strings.Repeat(" ", (64-total%64)%64) + "\n"
	var buf bytes.Buffer
	buf.WriteString("\x93NUMPY\x01\x00")
	_ = binary.Write(&buf, binary.LittleEndian, uint16(len(h)))
	buf.WriteString(h)
	for _, v := range data {
		_ = binary.Write(&buf, binary.LittleEndian, math.Float32bits(v))
	}
	_, err := w.Write(buf.Bytes())
	return err
}
