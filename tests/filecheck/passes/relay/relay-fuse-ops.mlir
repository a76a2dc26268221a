// RUN: xtvm-opt %s -p relay-fuse-ops | filecheck %s
// RUN: xtvm-opt %s -p 'relay-fuse-ops{max-depth=1}' | filecheck %s --check-prefix=DEPTH1
// RUN: xtvm-opt %s -p 'relay-fuse-ops{max-depth=2}' | filecheck %s --check-prefix=DEPTH2


// conv2d anchors the group; batch_norm, relu and the residual add are its epilogue.
// Constants stay outside and come in as arguments, in first-use order.
// CHECK-LABEL: func.func @resblock
// CHECK:         %s = relay.fused "fused_conv2d_batch_norm_relu_add" (%x, %w, %g, %b) : (tensor<1x4x8x8xf32>, tensor<4x4x3x3xf32>, tensor<4xf32>, tensor<4xf32>) -> (tensor<1x4x8x8xf32>) {
// CHECK-NEXT:    ^bb0(%{{.*}}: tensor<1x4x8x8xf32>, %{{.*}}: tensor<4x4x3x3xf32>, %{{.*}}: tensor<4xf32>, %{{.*}}: tensor<4xf32>):
// CHECK-NEXT:      relay.conv2d
// CHECK-NEXT:      relay.batch_norm
// CHECK-NEXT:      relay.relu
// CHECK-NEXT:      relay.add
// CHECK-NEXT:      relay.yield
// CHECK-NEXT:    }
// CHECK-NEXT:    func.return %s

// With max-depth=1 every op is a group of its own.
// DEPTH1-LABEL: func.func @resblock
// DEPTH1:         %c = relay.fused "fused_conv2d" (%x, %w)
// DEPTH1:         %bn = relay.fused "fused_batch_norm" (%c, %g, %b)
// DEPTH1:         %r = relay.fused "fused_relu" (%bn)
// DEPTH1:         %s = relay.fused "fused_add" (%r, %x)
// DEPTH1:         func.return %s

// DEPTH2-LABEL: func.func @resblock
// DEPTH2:         %bn = relay.fused "fused_conv2d_batch_norm" (%x, %w, %g, %b)
// DEPTH2:         %s = relay.fused "fused_relu_add" (%bn, %x)
// DEPTH2:         func.return %s
func.func @resblock(%x: tensor<1x4x8x8xf32>) -> tensor<1x4x8x8xf32> {
  %w = relay.constant dense<0.1> : tensor<4x4x3x3xf32>
  %g = relay.constant dense<1.0> : tensor<4xf32>
  %b = relay.constant dense<0.0> : tensor<4xf32>
  %c = relay.conv2d %x, %w {strides = array<i64: 1, 1>, padding = array<i64: 1, 1, 1, 1>, dilation = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x4x8x8xf32>, tensor<4x4x3x3xf32>) -> tensor<1x4x8x8xf32>
  %bn = relay.batch_norm %c, %g, %b, %b, %g {epsilon = 1.0e-05 : f32} : (tensor<1x4x8x8xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<1x4x8x8xf32>
  %r = relay.relu %bn : tensor<1x4x8x8xf32>
  %s = relay.add %r, %x : (tensor<1x4x8x8xf32>, tensor<1x4x8x8xf32>) -> tensor<1x4x8x8xf32>
  func.return %s : tensor<1x4x8x8xf32>
}

// %e has two users: it is materialized, not fused into both; the diamond below it is one group.
// CHECK-LABEL: func.func @two_uses
// CHECK:         %e = relay.fused "fused_exp" (%x)
// CHECK:         %s = relay.fused "fused_relu_tanh_add" (%e)
// CHECK-NEXT:    ^bb0(%[[E:.*]]: tensor<4xf32>):
// CHECK-NEXT:      relay.relu %[[E]]
// CHECK-NEXT:      relay.tanh %[[E]]
// CHECK:         func.return %s
func.func @two_uses(%x: tensor<4xf32>) -> tensor<4xf32> {
  %e = relay.exp %x : tensor<4xf32>
  %r = relay.relu %e : tensor<4xf32>
  %t = relay.tanh %e : tensor<4xf32>
  %s = relay.add %r, %t : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  func.return %s : tensor<4xf32>
}

// Two out-elementwise-fusable ops never share a group.
// CHECK-LABEL: func.func @two_convs
// CHECK:         %c1 = relay.fused "fused_conv2d" (%x, %w)
// CHECK:         %r = relay.fused "fused_conv2d_relu" (%c1, %w)
// CHECK:         func.return %r
func.func @two_convs(%x: tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32> {
  %w = relay.constant dense<1.0> : tensor<2x2x1x1xf32>
  %c1 = relay.conv2d %x, %w {strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>, dilation = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x2x4x4xf32>, tensor<2x2x1x1xf32>) -> tensor<1x2x4x4xf32>
  %c2 = relay.conv2d %c1, %w {strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>, dilation = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x2x4x4xf32>, tensor<2x2x1x1xf32>) -> tensor<1x2x4x4xf32>
  %r = relay.relu %c2 : tensor<1x2x4x4xf32>
  func.return %r : tensor<1x2x4x4xf32>
}

// Reductions and softmax (opaque) stay alone; an injective op is no conv/dense epilogue, but
// injective and elementwise ops chain together.
// CHECK-LABEL: func.func @head
// CHECK:         %p = relay.fused "fused_global_avg_pool2d" (%x)
// CHECK:         %f = relay.fused "fused_flatten" (%p)
// CHECK:         %d = relay.fused "fused_dense" (%f, %w)
// CHECK:         %e = relay.fused "fused_transpose_reshape_exp" (%d)
// CHECK:         %s = relay.fused "fused_softmax" (%e)
// CHECK:         %q = relay.fused "fused_sigmoid" (%s)
// CHECK:         func.return %q
func.func @head(%x: tensor<1x4x2x2xf32>, %w: tensor<3x4xf32>) -> tensor<1x3xf32> {
  %p = relay.global_avg_pool2d %x : (tensor<1x4x2x2xf32>) -> tensor<1x4x1x1xf32>
  %f = relay.flatten %p {axis = 1 : i64} : (tensor<1x4x1x1xf32>) -> tensor<1x4xf32>
  %d = relay.dense %f, %w : (tensor<1x4xf32>, tensor<3x4xf32>) -> tensor<1x3xf32>
  %t = relay.transpose %d {axes = array<i64: 1, 0>} : (tensor<1x3xf32>) -> tensor<3x1xf32>
  %r = relay.reshape %t : (tensor<3x1xf32>) -> tensor<1x3xf32>
  %e = relay.exp %r : tensor<1x3xf32>
  %s = relay.softmax %e {axis = 1 : i64} : (tensor<1x3xf32>) -> tensor<1x3xf32>
  %q = relay.sigmoid %s : tensor<1x3xf32>
  func.return %q : tensor<1x3xf32>
}

// Kernel names are unique in the module.
// CHECK-LABEL: func.func @names
// CHECK:         relay.fused "fused_relu" (%x)
// CHECK:         relay.fused "fused_softmax_1" (%a)
// CHECK:         relay.fused "fused_relu_1" (%b)
func.func @names(%x: tensor<4xf32>) -> tensor<4xf32> {
  %a = relay.relu %x : tensor<4xf32>
  %b = relay.softmax %a {axis = 0 : i64} : (tensor<4xf32>) -> tensor<4xf32>
  %c = relay.relu %b : tensor<4xf32>
  func.return %c : tensor<4xf32>
}
