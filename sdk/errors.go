package sdk

import (
	"errors"
	"fmt"
)

// ErrorCode classifies an executor error so the host can decide between reporting it to the user
// (the input is wrong on every backend) and falling back to another backend.
type ErrorCode int

// The error codes. They travel as gRPC status codes.
const (
	// Internal is a backend failure; another backend may succeed.
	Internal ErrorCode = iota
	// InvalidInput means the request itself is wrong: shape, dtype, input name.
	InvalidInput
	// NotFound means a model file, model id or handle does not exist.
	NotFound
	// InvalidModel means the model file cannot be parsed or is not valid ONNX.
	InvalidModel
	// Unavailable means the backend cannot run on this machine.
	Unavailable
	// Unsupported means the backend cannot run this model (an operator or dtype it lacks).
	Unsupported
)

func (c ErrorCode) String() string {
	switch c {
	case InvalidInput:
		return "invalid input"
	case NotFound:
		return "not found"
	case InvalidModel:
		return "invalid model"
	case Unavailable:
		return "unavailable"
	case Unsupported:
		return "unsupported"
	}
	return "internal"
}

// Error is an executor error with a code. Message is written for the user: what was expected,
// what was found, and what to do.
type Error struct {
	Code    ErrorCode
	Message string
}

func (e *Error) Error() string { return e.Message }

// Errorf returns an *Error with a formatted message.
func Errorf(code ErrorCode, format string, args ...any) error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// CodeOf returns the code of the first *Error in err's chain, or Internal.
func CodeOf(err error) ErrorCode {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return Internal
}
