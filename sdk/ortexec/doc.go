// Package ortexec is the ONNX Runtime executor that backend plugins share. A plugin supplies
// its execution-provider setup and device detection through [Config]; ortexec does the rest:
// locating and initialising the ONNX Runtime library, loading models, validating inputs against
// the model signature, running (concurrently: ONNX Runtime sessions are safe for concurrent Run),
// keeping outputs as handles, and caching optimized models.
//
// ONNX Runtime allows one environment per process, which is one of the reasons every backend
// runs in a process of its own. Within a process the environment is created once, by the first
// Executor that needs it, and shared by every Executor.
package ortexec
