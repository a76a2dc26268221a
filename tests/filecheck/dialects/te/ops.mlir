// RUN: xtvm-opt %s | xtvm-opt | filecheck %s
// RUN: xtvm-opt %s --print-op-generic | xtvm-opt | filecheck %s

// CHECK-LABEL: te.kernel @fused_dense_relu attributes {xtvm.tag = "dense"} {
te.kernel @fused_dense_relu attributes {xtvm.tag = "dense"} {
  // CHECK-NEXT: %A = te.placeholder "A" : tensor<4x8xf32>
  // CHECK-NEXT: %W = te.placeholder "W" : tensor<16x8xf32>
  %A = te.placeholder "A" : tensor<4x8xf32>
  %W = te.placeholder "W" : tensor<16x8xf32>
  // CHECK-NEXT: %D = te.compute "D" {tag = "dense"} : tensor<4x16xf32> {
  // CHECK-NEXT: ^bb0(%i: index, %j: index):
  // CHECK-NEXT:   %s = te.reduce "sum" [8] : f32 {
  // CHECK-NEXT:   ^{{.*}}(%k: index):
  // CHECK-NEXT:     %a = te.read %A[%i, %k] : tensor<4x8xf32>
  // CHECK-NEXT:     %w = te.read %W[%j, %k] : tensor<16x8xf32>
  // CHECK-NEXT:     %m = arith.mulf %a, %w : f32
  // CHECK-NEXT:     te.yield %m : f32
  // CHECK-NEXT:   }
  // CHECK-NEXT:   te.yield %s : f32
  // CHECK-NEXT: }
  %D = te.compute "D" {tag = "dense"} : tensor<4x16xf32> {
  ^bb0(%i: index, %j: index):
    %s = te.reduce "sum" [8] : f32 {
    ^bb1(%k: index):
      %a = te.read %A[%i, %k] : tensor<4x8xf32>
      %w = te.read %W[%j, %k] : tensor<16x8xf32>
      %m = arith.mulf %a, %w : f32
      te.yield %m : f32
    }
    te.yield %s : f32
  }
  // CHECK: %R = te.compute "R" : tensor<4x16xf32> {
  // CHECK: %r = arith.maximumf %v, %z : f32
  %R = te.compute "R" : tensor<4x16xf32> {
  ^bb0(%i: index, %j: index):
    %v = te.read %D[%i, %j] : tensor<4x16xf32>
    %z = arith.constant 0.0 : f32
    %r = arith.maximumf %v, %z : f32
    te.yield %r : f32
  }
  // CHECK: te.schedule {
  // CHECK-NEXT: [[S:%[a-z0-9_]+]] = te.stage "R"
  // CHECK-NEXT: [[I:%[a-z0-9_]+]], [[J:%[a-z0-9_]+]] = te.axes [[S]] : !te.axis, !te.axis
  // CHECK-NEXT: [[JO:%[a-z0-9_]+]], [[JI:%[a-z0-9_]+]] = te.split [[J]] by 8
  // CHECK-NEXT: te.vectorize [[JI]]
  // CHECK-NEXT: te.parallel [[I]]
  // CHECK-NEXT: [[D:%[a-z0-9_]+]] = te.stage "D"
  // CHECK-NEXT: te.compute_at [[D]], [[JO]]
  // CHECK-NEXT: }
  te.schedule {
    %s = te.stage "R"
    %i, %j = te.axes %s : !te.axis, !te.axis
    %jo, %ji = te.split %j by 8
    te.vectorize %ji
    te.parallel %i
    %d = te.stage "D"
    te.compute_at %d, %jo
  }
  // CHECK: te.return %R : tensor<4x16xf32>
  te.return %R : tensor<4x16xf32>
}

// CHECK-LABEL: te.kernel @sched
te.kernel @sched {
  %X = te.placeholder "X" : tensor<8x8x3x3xf32>
  // CHECK: te.reduce "max" [3, 3] : f32 {
  // CHECK-NEXT: ^{{.*}}(%r0: index, %r1: index):
  %M = te.compute "M" : tensor<8x8xf32> {
  ^bb0(%i: index, %j: index):
    %m = te.reduce "max" [3, 3] : f32 {
    ^bb1(%r0: index, %r1: index):
      %x = te.read %X[%i, %j, %r0, %r1] : tensor<8x8x3x3xf32>
      te.yield %x : f32
    }
    te.yield %m : f32
  }
  %P = te.compute "P" : tensor<8x8xf32> {
  ^bb0(%i: index, %j: index):
    %p = te.reduce "prod" [2] : f32 {
    ^bb1(%r: index):
      %x = te.read %M[%i, %j] : tensor<8x8xf32>
      te.yield %x : f32
    }
    te.yield %p : f32
  }
  %N = te.compute "N" : tensor<8x8xf32> {
  ^bb0(%i: index, %j: index):
    %x = te.read %P[%i, %j] : tensor<8x8xf32>
    %e = math.exp %x : f32
    te.yield %e : f32
  }
  // CHECK: te.schedule {
  te.schedule {
    // CHECK-NEXT: [[M:%[a-z0-9_]+]] = te.stage "M"
    %m = te.stage "M"
    // CHECK-NEXT: [[MC:%[a-z0-9_]+]] = te.cache_write [[M]]
    %mc = te.cache_write %m
    // CHECK-NEXT: [[I:%[a-z0-9_]+]], [[J:%[a-z0-9_]+]] = te.axes [[MC]] : !te.axis, !te.axis
    %i, %j = te.axes %mc : !te.axis, !te.axis
    // CHECK-NEXT: [[R0:%[a-z0-9_]+]], [[R1:%[a-z0-9_]+]] = te.reduce_axes [[MC]] : !te.axis, !te.axis
    %r0, %r1 = te.reduce_axes %mc : !te.axis, !te.axis
    // CHECK-NEXT: [[IO:%[a-z0-9_]+]], [[JO:%[a-z0-9_]+]], [[II:%[a-z0-9_]+]], [[JI:%[a-z0-9_]+]] = te.tile [[I]], [[J]] by [4, 2]
    %io, %jo, %ii, %ji = te.tile %i, %j by [4, 2]
    // CHECK-NEXT: te.reorder [[IO]], [[JO]], [[R0]], [[R1]], [[II]], [[JI]]
    te.reorder %io, %jo, %r0, %r1, %ii, %ji
    // CHECK-NEXT: [[F:%[a-z0-9_]+]] = te.fuse [[IO]], [[JO]]
    %f = te.fuse %io, %jo
    // CHECK-NEXT: te.parallel [[F]]
    te.parallel %f
    // CHECK-NEXT: te.unroll [[R0]]
    te.unroll %r0
    // CHECK-NEXT: te.vectorize [[JI]]
    te.vectorize %ji
    // CHECK-NEXT: [[P:%[a-z0-9_]+]] = te.stage "P"
    %p = te.stage "P"
    // CHECK-NEXT: te.compute_inline [[P]]
    te.compute_inline %p
    // CHECK-NEXT: [[C:%[a-z0-9_]+]] = te.cache_read "X"
    %c = te.cache_read "X"
    // CHECK-NEXT: te.compute_at [[C]], [[F]]
    te.compute_at %c, %f
    // CHECK-NEXT: te.bind [[II]] "threadIdx.x"
    te.bind %ii "threadIdx.x"
    // CHECK-NEXT: [[CS:%[a-z0-9_]+]] = te.cache_read "X" in "shared"
    %cs = te.cache_read "X" in "shared"
    // CHECK-NEXT: [[NL:%[a-z0-9_]+]] = te.cache_write [[P]] in "local"
    %nl = te.cache_write %p in "local"
  }
  // CHECK: te.return %N, %M : tensor<8x8xf32>, tensor<8x8xf32>
  te.return %N, %M : tensor<8x8xf32>, tensor<8x8xf32>
}

// CHECK-LABEL: func.func @main
func.func @main(%x: tensor<4x8xf32>) -> tensor<4x16xf32> {
  %w = arith.constant dense<1.0> : tensor<16x8xf32>
  // CHECK: %r = te.call @fused_dense_relu(%x, %w) : (tensor<4x8xf32>, tensor<16x8xf32>) -> tensor<4x16xf32>
  %r = te.call @fused_dense_relu(%x, %w) : (tensor<4x8xf32>, tensor<16x8xf32>) -> tensor<4x16xf32>
  func.return %r : tensor<4x16xf32>
}
