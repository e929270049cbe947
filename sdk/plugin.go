package sdk

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync/atomic"

	"github.com/hashicorp/go-plugin"
	pb "github.com/hfhost/hfhost/sdk/internal/proto/executorv1"
	"google.golang.org/grpc"
)

// Handshake is the go-plugin handshake shared by the host and every plugin. The cookie keeps a
// plugin binary from being run by hand by mistake; the protocol version is negotiated through
// go-plugin's versioned plugin sets.
var Handshake = plugin.HandshakeConfig{
	MagicCookieKey:   "HFHOST_PLUGIN",
	MagicCookieValue: "executor-8c1f6a2e",
}

// PluginName is the name under which the executor is dispensed.
const PluginName = "executor"

// MaxMessageBytes bounds one gRPC message in both directions. go-plugin's default server keeps
// gRPC's 4 MiB limit, which a single 640x640 image tensor already exceeds.
const MaxMessageBytes = 1<<31 - 1

// ClientPlugins is what a host passes as go-plugin's ClientConfig.VersionedPlugins.
func ClientPlugins() map[int]plugin.PluginSet {
	return map[int]plugin.PluginSet{ProtocolVersion: {PluginName: &grpcPlugin{}}}
}

// Transport tuning for large tensors on the local socket, used on both sides (see
// PERFORMANCE.md, "Plugin boundary"). gRPC's defaults are made for networks: a 64 KiB initial
// flow-control window grown by bandwidth-delay probing, and 32 KiB read and write buffers, so
// a 13 MB tensor crosses in hundreds of window updates and syscalls with a context switch each.
// A window as large as the biggest message we expect to send without waiting and 1 MiB buffers
// let it cross in a few large writes.
const (
	transportWindowBytes = 64 << 20
	transportBufferBytes = 1 << 20
)

// GRPCDialOptions raise the client's message limits and size its transport for large tensors;
// pass them as ClientConfig.GRPCDialOptions.
func GRPCDialOptions() []grpc.DialOption {
	return []grpc.DialOption{
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(MaxMessageBytes), grpc.MaxCallSendMsgSize(MaxMessageBytes)),
		grpc.WithInitialWindowSize(transportWindowBytes),
		grpc.WithInitialConnWindowSize(transportWindowBytes),
		grpc.WithReadBufferSize(transportBufferBytes),
		grpc.WithWriteBufferSize(transportBufferBytes),
	}
}

// grpcServerOptions are the server-side counterparts of GRPCDialOptions.
func grpcServerOptions() []grpc.ServerOption {
	return []grpc.ServerOption{
		grpc.MaxRecvMsgSize(MaxMessageBytes), grpc.MaxSendMsgSize(MaxMessageBytes),
		grpc.InitialWindowSize(transportWindowBytes), grpc.InitialConnWindowSize(transportWindowBytes),
		grpc.ReadBufferSize(transportBufferBytes), grpc.WriteBufferSize(transportBufferBytes),
	}
}

// grpcPlugin adapts an Executor to go-plugin's GRPCPlugin.
type grpcPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	impl Executor
}

func (p *grpcPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	pb.RegisterExecutorServer(s, newServer(p.impl))
	return nil
}

func (p *grpcPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return newClient(pb.NewExecutorClient(c), shmMinBytesFromEnv()), nil
}

// newClient returns a client that sends tensors of at least shmMin bytes through shared memory
// once the plugin's Describe says it can take them (shmMin 0: never).
func newClient(rpc pb.ExecutorClient, shmMin int64) *Client {
	c := &Client{rpc: rpc, shmMin: shmMin, arenas: &arenaPool{}}
	runtime.AddCleanup(c, func(p *arenaPool) { p.closeAll() }, c.arenas)
	return c
}

// server serves an Executor over gRPC.
type server struct {
	pb.UnimplementedExecutorServer
	impl Executor
	maps *shmMaps // arena mappings kept between Runs (shm.go)
}

func newServer(impl Executor) *server { return &server{impl: impl, maps: newShmMaps()} }

func (s *server) Describe(ctx context.Context, _ *pb.DescribeRequest) (*pb.DescribeResponse, error) {
	d, err := s.impl.Describe(ctx)
	if err != nil {
		return nil, errorToStatus(err)
	}
	r := descriptionToProto(d)
	r.Capabilities.SharedMemory = shmSupported
	return r, nil
}

func (s *server) Load(ctx context.Context, r *pb.LoadRequest) (*pb.LoadResponse, error) {
	req := &LoadRequest{ModelPath: r.GetModelPath(), Options: r.GetOptions(), CacheDir: r.GetCacheDir(), DeviceID: r.GetDeviceId()}
	if len(r.GetStaticShapes()) > 0 {
		req.StaticShapes = make(map[string][]int64, len(r.GetStaticShapes()))
		for _, s := range r.GetStaticShapes() {
			req.StaticShapes[s.GetInput()] = s.GetShape()
		}
	}
	info, err := s.impl.Load(ctx, req)
	if err != nil {
		return nil, errorToStatus(err)
	}
	return &pb.LoadResponse{
		ModelId: info.ID, Inputs: valueInfosToProto(info.Inputs), Outputs: valueInfosToProto(info.Outputs),
		LoadMicros: info.LoadTime.Microseconds(), CacheHit: info.CacheHit,
	}, nil
}

func (s *server) Run(ctx context.Context, r *pb.RunRequest) (*pb.RunResponse, error) {
	req := &RunRequest{ModelID: r.GetModelId(), Inputs: valuesFromProto(r.GetInputs())}
	for _, o := range r.GetOutputs() {
		req.Outputs = append(req.Outputs, OutputRequest{Name: o.GetName(), Keep: o.GetKeep()})
	}
	// Shared memory (shm.go): map inputs that refer to the host's arena, and let the executor
	// place outputs there. Everything mapped is released when this handler returns, by which
	// time the response refers to the arena instead of holding the mapped bytes.
	var sh *serverShm
	if offer := r.GetOutputShm(); offer != nil && shmSupported {
		sh = &serverShm{offer: offer, maps: s.maps, next: alignUp(max(offer.GetOffset(), 0))}
		ctx = context.WithValue(ctx, shmContextKey{}, sh)
	}
	if hasShmInput(r.GetInputs()) {
		if sh == nil {
			sh = &serverShm{offer: &pb.SharedMemoryOffer{}, maps: s.maps}
		}
		if err := sh.mapInputs(r.GetInputs(), req.Inputs); err != nil {
			sh.release()
			return nil, shmStatus(err)
		}
	}
	if sh != nil {
		defer sh.release()
	}
	res, err := s.impl.Run(ctx, req)
	if err != nil {
		return nil, errorToStatus(err)
	}
	outs := valuesToProto(res.Outputs)
	if sh != nil {
		// Also without an offer: an output that aliases a mapped input must leave as a
		// reference, since gRPC marshals the response after the mappings are released.
		sh.encodeOutputs(outs)
	}
	// The timings exclude gRPC's own (un)marshalling, which happens outside this handler; the
	// host measures the whole round trip itself.
	return &pb.RunResponse{
		Outputs: outs,
		Timings: &pb.Timings{DecodeMicros: res.Timings.Decode.Microseconds(), RunMicros: res.Timings.Run.Microseconds(), EncodeMicros: res.Timings.Encode.Microseconds()},
	}, nil
}

func hasShmInput(in []*pb.NamedValue) bool {
	for _, v := range in {
		if v.GetTensor().GetShm() != nil {
			return true
		}
	}
	return false
}

func (s *server) Release(ctx context.Context, r *pb.ReleaseRequest) (*pb.ReleaseResponse, error) {
	if err := s.impl.Release(ctx, r.GetHandles()); err != nil {
		return nil, errorToStatus(err)
	}
	return &pb.ReleaseResponse{}, nil
}

func (s *server) Unload(ctx context.Context, r *pb.UnloadRequest) (*pb.UnloadResponse, error) {
	if err := s.impl.Unload(ctx, r.GetModelId()); err != nil {
		return nil, errorToStatus(err)
	}
	return &pb.UnloadResponse{}, nil
}

// Client is the host's view of a plugin: an Executor whose calls cross the process boundary.
// Errors the plugin returned come back as *Error; transport failures wrap [ErrTransport].
//
// Once Describe has found that the plugin supports it, Run sends and receives tensors of 1 MiB
// or more through shared memory instead of the gRPC stream (see shm.go; HFHOST_SHM=off in the
// host's environment turns this off, HFHOST_SHM=<bytes> sets the threshold). A plugin that
// cannot use it makes the client fall back to inline tensors for good.
type Client struct {
	rpc    pb.ExecutorClient
	shmMin int64       // threshold in bytes; 0 disables shared memory
	shm    atomic.Bool // the plugin said it supports shared memory and has not refused it
	arenas *arenaPool
}

var _ Executor = (*Client)(nil)

// Describe implements Executor.
func (c *Client) Describe(ctx context.Context) (*Description, error) {
	r, err := c.rpc.Describe(ctx, &pb.DescribeRequest{})
	if err != nil {
		return nil, errorFromStatus(err)
	}
	if int(r.GetProtocolVersion()) != ProtocolVersion {
		return nil, fmt.Errorf("plugin %q speaks executor protocol v%d, this host speaks v%d: rebuild the plugin against this SDK", r.GetPluginName(), r.GetProtocolVersion(), ProtocolVersion)
	}
	c.shm.Store(shmSupported && c.shmMin > 0 && r.GetCapabilities().GetSharedMemory())
	return descriptionFromProto(r), nil
}

// Load implements Executor.
func (c *Client) Load(ctx context.Context, req *LoadRequest) (*ModelInfo, error) {
	pr := &pb.LoadRequest{ModelPath: req.ModelPath, Options: req.Options, CacheDir: req.CacheDir, DeviceId: req.DeviceID}
	for name, shape := range req.StaticShapes {
		pr.StaticShapes = append(pr.StaticShapes, &pb.StaticShape{Input: name, Shape: shape})
	}
	r, err := c.rpc.Load(ctx, pr)
	if err != nil {
		return nil, errorFromStatus(err)
	}
	return &ModelInfo{
		ID: r.GetModelId(), Inputs: valueInfosFromProto(r.GetInputs()), Outputs: valueInfosFromProto(r.GetOutputs()),
		LoadTime: durationFromMicros(r.GetLoadMicros()), CacheHit: r.GetCacheHit(),
	}, nil
}

// Run implements Executor.
func (c *Client) Run(ctx context.Context, req *RunRequest) (*RunResult, error) {
	if c.shm.Load() {
		res, err := c.runShm(ctx, req)
		if !errors.Is(err, errShmRefused) {
			return res, err
		}
		// The plugin (or this host) cannot use shared memory here: stay inline from now on.
		c.shm.Store(false)
	}
	pr := &pb.RunRequest{ModelId: req.ModelID, Inputs: valuesToProto(req.Inputs)}
	for _, o := range req.Outputs {
		pr.Outputs = append(pr.Outputs, &pb.OutputRequest{Name: o.Name, Keep: o.Keep})
	}
	r, err := c.rpc.Run(ctx, pr)
	if err != nil {
		return nil, errorFromStatus(err)
	}
	return runResultFromProto(r), nil
}

func runResultFromProto(r *pb.RunResponse) *RunResult {
	t := r.GetTimings()
	return &RunResult{
		Outputs: valuesFromProto(r.GetOutputs()),
		Timings: Timings{Decode: durationFromMicros(t.GetDecodeMicros()), Run: durationFromMicros(t.GetRunMicros()), Encode: durationFromMicros(t.GetEncodeMicros())},
	}
}

// Release implements Executor.
func (c *Client) Release(ctx context.Context, handles []string) error {
	_, err := c.rpc.Release(ctx, &pb.ReleaseRequest{Handles: handles})
	return errorFromStatus(err)
}

// Unload implements Executor.
func (c *Client) Unload(ctx context.Context, modelID string) error {
	_, err := c.rpc.Unload(ctx, &pb.UnloadRequest{ModelId: modelID})
	return errorFromStatus(err)
}

// IsTransport reports whether err is a transport failure rather than an executor's answer.
func IsTransport(err error) bool { return errors.Is(err, ErrTransport) }
