// Package plugintest tests hfhost backend plugins as the host sees them: as separate processes
// speaking the executor protocol over go-plugin.
//
// A plugin author runs the conformance suite against their own binary:
//
//	func TestConformance(t *testing.T) {
//		plugintest.Run(t, "/path/to/hfhost-plugin-mybackend")
//	}
//
// The suite is strict where the host depends on an answer (error codes, dtypes and shapes named
// in messages, bit-exact round trips, handles, concurrency, stdout) and lets a plugin decline
// what goes beyond the basics (scalars, empty tensors and dynamic output shapes of some dtypes)
// only with an sdk.Unsupported error that says why; such cases are skipped with the plugin's
// message, never passed silently.
//
// [Start] launches a plugin and returns its executor for tests of one's own; [RunONNXNodeTests]
// runs the ONNX backend node tests (as packaged by the onnx project) through a plugin and
// reports which pass; [ReadTensorProto] reads the tensors those tests and the ONNX model zoo
// store. Everything here builds the ONNX files it needs on the fly: the suite needs no data and
// no ONNX package.
package plugintest
