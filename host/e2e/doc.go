// Package e2e holds hfhost's end-to-end tests: the hfhost binary and real plugin processes
// (the CPU backend and a fault-injecting test plugin), built fresh by TestMain, running the
// built-in MNIST-8 model and the tiny HF fixture models against outputs recorded from
// ONNX's golden data and HF transformers.
package e2e
