package plugintest

import (
	"fmt"
	"os"

	"github.com/hfhost/hfhost/sdk"
	"google.golang.org/protobuf/encoding/protowire"
)

// This file writes and reads just enough of the ONNX ModelProto wire format to build the tiny
// single-node graphs the conformance suite runs, and to read a model's declared input and output
// types for the node tests, without depending on an ONNX protobuf package.
//
// Field numbers are those of onnx/onnx.proto (IR version 8).

// graphValue is one graph input or output: a tensor whose dimensions are fixed sizes (>= 0) or
// named dynamic dimensions (dims[i] < 0, with names[i] the dim_param). Nil dims leave the shape
// undeclared (unknown rank); empty dims declare a scalar.
type graphValue struct {
	name  string
	dtype sdk.DType
	dims  []int64
	names []string // per dimension; used where dims[i] < 0
}

// graphNode is one operator call.
type graphNode struct {
	op      string
	inputs  []string
	outputs []string
}

// tinyModel is a single-graph ONNX model with no initializers or attributes.
type tinyModel struct {
	opset   int64
	nodes   []graphNode
	inputs  []graphValue
	outputs []graphValue
}

// marshal encodes the model as an onnx.ModelProto.
func (m *tinyModel) marshal() []byte {
	var g []byte
	for i, n := range m.nodes {
		var nb []byte
		for _, in := range n.inputs {
			nb = protowire.AppendTag(nb, 1, protowire.BytesType)
			nb = protowire.AppendString(nb, in)
		}
		for _, out := range n.outputs {
			nb = protowire.AppendTag(nb, 2, protowire.BytesType)
			nb = protowire.AppendString(nb, out)
		}
		nb = protowire.AppendTag(nb, 3, protowire.BytesType)
		nb = protowire.AppendString(nb, fmt.Sprintf("%s_%d", n.op, i))
		nb = protowire.AppendTag(nb, 4, protowire.BytesType)
		nb = protowire.AppendString(nb, n.op)
		g = protowire.AppendTag(g, 1, protowire.BytesType) // GraphProto.node
		g = protowire.AppendBytes(g, nb)
	}
	g = protowire.AppendTag(g, 2, protowire.BytesType) // GraphProto.name
	g = protowire.AppendString(g, "plugintest")
	for _, v := range m.inputs {
		g = protowire.AppendTag(g, 11, protowire.BytesType) // GraphProto.input
		g = protowire.AppendBytes(g, v.marshal())
	}
	for _, v := range m.outputs {
		g = protowire.AppendTag(g, 12, protowire.BytesType) // GraphProto.output
		g = protowire.AppendBytes(g, v.marshal())
	}

	var b []byte
	b = protowire.AppendTag(b, 1, protowire.VarintType) // ModelProto.ir_version
	b = protowire.AppendVarint(b, 8)
	b = protowire.AppendTag(b, 2, protowire.BytesType) // ModelProto.producer_name
	b = protowire.AppendString(b, "hfhost-plugintest")
	b = protowire.AppendTag(b, 7, protowire.BytesType) // ModelProto.graph
	b = protowire.AppendBytes(b, g)
	var op []byte
	op = protowire.AppendTag(op, 1, protowire.BytesType) // OperatorSetIdProto.domain ("" = ai.onnx)
	op = protowire.AppendString(op, "")
	op = protowire.AppendTag(op, 2, protowire.VarintType) // OperatorSetIdProto.version
	op = protowire.AppendVarint(op, uint64(m.opset))
	b = protowire.AppendTag(b, 8, protowire.BytesType) // ModelProto.opset_import
	b = protowire.AppendBytes(b, op)
	return b
}

// marshal encodes the value as an onnx.ValueInfoProto with a tensor type.
func (v graphValue) marshal() []byte {
	var shape []byte
	for i, d := range v.dims {
		var dim []byte
		if d >= 0 {
			dim = protowire.AppendTag(dim, 1, protowire.VarintType) // Dimension.dim_value
			dim = protowire.AppendVarint(dim, uint64(d))
		} else {
			name := fmt.Sprintf("d%d", i)
			if i < len(v.names) && v.names[i] != "" {
				name = v.names[i]
			}
			dim = protowire.AppendTag(dim, 2, protowire.BytesType) // Dimension.dim_param
			dim = protowire.AppendString(dim, name)
		}
		shape = protowire.AppendTag(shape, 1, protowire.BytesType) // TensorShapeProto.dim
		shape = protowire.AppendBytes(shape, dim)
	}
	var tensor []byte
	tensor = protowire.AppendTag(tensor, 1, protowire.VarintType) // TypeProto.Tensor.elem_type
	tensor = protowire.AppendVarint(tensor, uint64(v.dtype))
	// An absent shape means "unknown rank" (dims == nil); an empty one means rank 0.
	if v.dims != nil {
		tensor = protowire.AppendTag(tensor, 2, protowire.BytesType) // TypeProto.Tensor.shape
		tensor = protowire.AppendBytes(tensor, shape)
	}
	var typ []byte
	typ = protowire.AppendTag(typ, 1, protowire.BytesType) // TypeProto.tensor_type
	typ = protowire.AppendBytes(typ, tensor)
	var b []byte
	b = protowire.AppendTag(b, 1, protowire.BytesType) // ValueInfoProto.name
	b = protowire.AppendString(b, v.name)
	b = protowire.AppendTag(b, 2, protowire.BytesType) // ValueInfoProto.type
	b = protowire.AppendBytes(b, typ)
	return b
}

// write saves the model to path.
func (m *tinyModel) write(path string) error {
	if err := os.WriteFile(path, m.marshal(), 0o644); err != nil {
		return fmt.Errorf("writing test model: %w", err)
	}
	return nil
}

// ValueKind is the kind of an ONNX value type.
type ValueKind string

// The ONNX value kinds; only tensors of the dtypes in package sdk cross the plugin boundary.
const (
	KindTensor       ValueKind = "tensor"
	KindSequence     ValueKind = "sequence"
	KindMap          ValueKind = "map"
	KindOptional     ValueKind = "optional"
	KindSparseTensor ValueKind = "sparse_tensor"
	KindUnknown      ValueKind = "unknown"
)

// ModelValue is a graph input or output as declared in a model file.
type ModelValue struct {
	Name string
	Kind ValueKind
	// ElemType is the ONNX TensorProto.DataType number of a tensor (or of the tensors inside a
	// sequence or optional, when they hold tensors); 0 when unknown.
	ElemType int32
}

// ModelSignature is what ReadModelSignature finds in an ONNX model file.
type ModelSignature struct {
	// Opsets maps an operator set domain ("" for ai.onnx) to its version.
	Opsets map[string]int64
	// Ops lists the operator types of the main graph's nodes, in order.
	Ops     []string
	Inputs  []ModelValue
	Outputs []ModelValue
	// Initializers names the graph's initializers; graph inputs with these names are optional.
	Initializers []string
}

// ReadModelSignature reads the opsets, operators and declared inputs and outputs of an ONNX model
// file. It decodes the protobuf wire format directly.
func ReadModelSignature(path string) (*ModelSignature, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	s := &ModelSignature{Opsets: map[string]int64{}}
	err = walkFields(b, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
		switch {
		case num == 7 && typ == protowire.BytesType: // graph
			return s.readGraph(v)
		case num == 8 && typ == protowire.BytesType: // opset_import
			var domain string
			var version int64
			if err := walkFields(v, func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error {
				switch {
				case num == 1 && typ == protowire.BytesType:
					domain = string(v)
				case num == 2 && typ == protowire.VarintType:
					version = int64(x)
				}
				return nil
			}); err != nil {
				return fmt.Errorf("opset_import: %w", err)
			}
			if domain == "ai.onnx" {
				domain = ""
			}
			s.Opsets[domain] = version
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%s is not a readable ONNX model: %w", path, err)
	}
	return s, nil
}

func (s *ModelSignature) readGraph(g []byte) error {
	return walkFields(g, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
		if typ != protowire.BytesType {
			return nil
		}
		switch num {
		case 1: // node
			return walkFields(v, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
				if num == 4 && typ == protowire.BytesType {
					s.Ops = append(s.Ops, string(v))
				}
				return nil
			})
		case 5: // initializer
			return walkFields(v, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
				if num == 8 && typ == protowire.BytesType {
					s.Initializers = append(s.Initializers, string(v))
				}
				return nil
			})
		case 11, 12: // input, output
			mv, err := readValueInfo(v)
			if err != nil {
				return err
			}
			if num == 11 {
				s.Inputs = append(s.Inputs, mv)
			} else {
				s.Outputs = append(s.Outputs, mv)
			}
		}
		return nil
	})
}

func readValueInfo(b []byte) (ModelValue, error) {
	mv := ModelValue{Kind: KindUnknown}
	err := walkFields(b, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
		switch {
		case num == 1 && typ == protowire.BytesType:
			mv.Name = string(v)
		case num == 2 && typ == protowire.BytesType:
			var err error
			mv.Kind, mv.ElemType, err = readType(v)
			return err
		}
		return nil
	})
	return mv, err
}

// readType decodes a TypeProto: its kind and, for tensors and containers of tensors, the
// element type.
func readType(b []byte) (ValueKind, int32, error) {
	kind, elem := KindUnknown, int32(0)
	err := walkFields(b, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
		if typ != protowire.BytesType {
			return nil
		}
		switch num {
		case 1, 8: // tensor_type, sparse_tensor_type: elem_type = 1
			kind = KindTensor
			if num == 8 {
				kind = KindSparseTensor
			}
			return walkFields(v, func(num protowire.Number, typ protowire.Type, _ []byte, x uint64) error {
				if num == 1 && typ == protowire.VarintType {
					elem = int32(x)
				}
				return nil
			})
		case 4, 9: // sequence_type, optional_type: elem_type (a TypeProto) = 1
			kind = KindSequence
			if num == 9 {
				kind = KindOptional
			}
			return walkFields(v, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
				if num == 1 && typ == protowire.BytesType {
					inner, e, err := readType(v)
					if err == nil && inner == KindTensor {
						elem = e
					}
					return err
				}
				return nil
			})
		case 5:
			kind = KindMap
		}
		return nil
	})
	return kind, elem, err
}

// walkFields calls fn for each field of a protobuf message: v holds a length-delimited field's
// bytes, x a varint or fixed field's value.
func walkFields(b []byte, fn func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
		var v []byte
		var x uint64
		switch typ {
		case protowire.BytesType:
			v, n = protowire.ConsumeBytes(b)
		case protowire.VarintType:
			x, n = protowire.ConsumeVarint(b)
		case protowire.Fixed32Type:
			var y uint32
			y, n = protowire.ConsumeFixed32(b)
			x = uint64(y)
		case protowire.Fixed64Type:
			x, n = protowire.ConsumeFixed64(b)
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return fmt.Errorf("field %d: %w", num, protowire.ParseError(n))
		}
		b = b[n:]
		if err := fn(num, typ, v, x); err != nil {
			return err
		}
	}
	return nil
}
