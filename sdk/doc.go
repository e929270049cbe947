// Package sdk is what a hfhost backend plugin author imports, and what the host uses to talk to
// plugins.
//
// A backend is a separate executable that implements [Executor] and calls [Serve] from main.
// The host launches it with hashicorp/go-plugin and speaks the executor/v1 gRPC protocol to it;
// the generated protocol code lives under internal/ and never appears in this API. Everything a
// pipeline does before and after the model (tokenizing, image and audio features, generation
// loops) runs in the host: a plugin only loads graphs and runs tensors.
//
// Optional behaviour is expressed by optional fields and capabilities rather than by a larger
// interface, so that a minimal plugin stays a few lines long (see examples/minimal).
package sdk
