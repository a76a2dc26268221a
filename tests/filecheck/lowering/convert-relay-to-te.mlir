// RUN: xtvm-opt %s -p 'convert-relay-to-te{vector-bits=512 min-parallel-work=0}' | filecheck %s
// RUN: xtvm-opt %s -p 'convert-relay-to-te{vector-bits=512 min-parallel-work=0}' | xtvm-opt | filecheck %s

// A fused conv2d + bias + relu group (weights as relay constants outside the group) and one
// relay op left unfused, which becomes a singleton kernel.

func.func @main(%x: tensor<1x2x6x32xf32> {xtvm.name = "x"}) -> (tensor<1x4x3x16xf32> {xtvm.name = "y"}) {
  %w = relay.constant dense<0.5> : tensor<4x2x3x3xf32>
  %b = relay.constant dense<[[[1.0]], [[2.0]], [[3.0]], [[4.0]]]> : tensor<4x1x1xf32>
  %c = relay.fused "fused_conv2d_add_relu" (%x, %w, %b) : (tensor<1x2x6x32xf32>, tensor<4x2x3x3xf32>, tensor<4x1x1xf32>) -> (tensor<1x4x6x32xf32>) {
  ^bb0(%a: tensor<1x2x6x32xf32>, %k: tensor<4x2x3x3xf32>, %bias: tensor<4x1x1xf32>):
    %0 = relay.conv2d %a, %k {strides = array<i64: 1, 1>, padding = array<i64: 1, 1, 1, 1>, dilation = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x2x6x32xf32>, tensor<4x2x3x3xf32>) -> tensor<1x4x6x32xf32>
    %1 = relay.add %0, %bias : (tensor<1x4x6x32xf32>, tensor<4x1x1xf32>) -> tensor<1x4x6x32xf32>
    %2 = relay.relu %1 : tensor<1x4x6x32xf32>
    relay.yield %2 : tensor<1x4x6x32xf32>
  }
  %m = relay.max_pool2d %c {pool_size = array<i64: 2, 2>, strides = array<i64: 2, 2>, padding = array<i64: 0, 0, 0, 0>, dilation = array<i64: 1, 1>, ceil_mode = 0 : i64} : (tensor<1x4x6x32xf32>) -> tensor<1x4x3x16xf32>
  func.return %m : tensor<1x4x3x16xf32>
}

// CHECK-LABEL: te.kernel @fused_conv2d_add_relu {
// CHECK-NEXT:    %p0 = te.placeholder "p0" : tensor<1x2x6x32xf32>
// CHECK-NEXT:    %p1 = te.placeholder "p1" : tensor<4x2x3x3xf32>
// CHECK-NEXT:    %p2 = te.placeholder "p2" : tensor<4x1x1xf32>
// CHECK-NEXT:    %pad = te.compute "pad" {tag = "injective,pad"} : tensor<1x2x8x34xf32> {
// CHECK-NEXT:    ^{{.*}}(%[[I:.*]]: index, %[[J:.*]]: index, %[[K:.*]]: index, %[[L:.*]]: index):
// The source row is clamped into the input; the pad value is selected outside it.
// CHECK:           %[[ROW:.*]] = arith.minsi %{{.*}}, %{{.*}} : index
// CHECK:           %[[COL:.*]] = arith.minsi %{{.*}}, %{{.*}} : index
// CHECK:           %[[V:.*]] = te.read %p0[%[[I]], %[[J]], %[[ROW]], %[[COL]]] : tensor<1x2x6x32xf32>
// CHECK-NEXT:      %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-NEXT:      %[[SEL:.*]] = arith.select %{{.*}}, %[[V]], %[[ZERO]] : f32
// CHECK-NEXT:      te.yield %[[SEL]] : f32
// CHECK:         %conv2d = te.compute "conv2d" {tag = "conv2d_nchw"} : tensor<1x4x6x32xf32> {
// CHECK-NEXT:    ^{{.*}}(%[[N:.*]]: index, %[[O:.*]]: index, %[[Y:.*]]: index, %[[X:.*]]: index):
// CHECK-NEXT:      %[[SUM:.*]] = te.reduce "sum" [2, 3, 3] : f32 {
// CHECK-NEXT:      ^{{.*}}(%[[RC:.*]]: index, %[[RY:.*]]: index, %[[RX:.*]]: index):
// CHECK-NEXT:        %[[IY:.*]] = arith.addi %[[Y]], %[[RY]] : index
// CHECK-NEXT:        %[[IX:.*]] = arith.addi %[[X]], %[[RX]] : index
// CHECK-NEXT:        %[[D:.*]] = te.read %pad[%[[N]], %[[RC]], %[[IY]], %[[IX]]] : tensor<1x2x8x34xf32>
// CHECK-NEXT:        %[[W:.*]] = te.read %p1[%[[O]], %[[RC]], %[[RY]], %[[RX]]] : tensor<4x2x3x3xf32>
// CHECK-NEXT:        %[[P:.*]] = arith.mulf %[[D]], %[[W]] : f32
// CHECK-NEXT:        te.yield %[[P]] : f32
// CHECK-NEXT:      }
// CHECK-NEXT:      te.yield %[[SUM]] : f32
// CHECK-NEXT:    }
// CHECK-NEXT:    %add = te.compute "add" {tag = "broadcast"} : tensor<1x4x6x32xf32> {
// CHECK-NEXT:    ^{{.*}}(%{{.*}}: index, %[[AC:.*]]: index, %{{.*}}: index, %{{.*}}: index):
// CHECK-NEXT:      te.read %conv2d[
// CHECK-NEXT:      %[[C0:.*]] = arith.constant 0 : index
// CHECK-NEXT:      te.read %p2[%[[AC]], %[[C0]], %[[C0]]] : tensor<4x1x1xf32>
// CHECK-NEXT:      arith.addf
// CHECK:         %relu = te.compute "relu" {tag = "elemwise"} : tensor<1x4x6x32xf32> {
// CHECK:           arith.maximumf
// CHECK:         te.schedule {
// CHECK-NEXT:      %[[SP:.*]] = te.stage "pad"
// CHECK-NEXT:      te.compute_inline %[[SP]]
// CHECK-NEXT:      %[[SA:.*]] = te.stage "add"
// CHECK-NEXT:      te.compute_inline %[[SA]]
// CHECK-NEXT:      %[[SC:.*]] = te.stage "conv2d"
// CHECK-NEXT:      %[[A0:.*]], %[[A1:.*]], %[[A2:.*]], %[[A3:.*]] = te.axes %[[SC]] : !te.axis, !te.axis, !te.axis, !te.axis
// CHECK-NEXT:      %[[R0:.*]], %[[R1:.*]], %[[R2:.*]] = te.reduce_axes %[[SC]] : !te.axis, !te.axis, !te.axis
// CHECK-NEXT:      %[[XO:.*]], %[[XI:.*]] = te.split %[[A3]] by 16
// CHECK-NEXT:      te.reorder %[[A0]], %[[A1]], %[[A2]], %[[XO]], %[[R0]], %[[R1]], %[[R2]], %[[XI]]
// CHECK-NEXT:      te.vectorize %[[XI]]
// CHECK-NEXT:      te.parallel %[[A1]]
// CHECK-NEXT:      %[[SR:.*]] = te.stage "relu"
// CHECK-NEXT:      %{{.*}}, %[[B1:.*]], %{{.*}}, %[[B3:.*]] = te.axes %[[SR]]
// CHECK-NEXT:      %{{.*}}, %[[BI:.*]] = te.split %[[B3]] by 16
// CHECK-NEXT:      te.vectorize %[[BI]]
// CHECK-NEXT:      te.parallel %[[B1]]
// CHECK-NEXT:    }
// CHECK-NEXT:    te.return %relu : tensor<1x4x6x32xf32>
// CHECK-NEXT:  }

// CHECK-LABEL: te.kernel @fused_max_pool2d {
// CHECK-NEXT:    %p0 = te.placeholder "p0" : tensor<1x4x6x32xf32>
// CHECK-NEXT:    %max_pool2d = te.compute "max_pool2d" {tag = "pool_max"} : tensor<1x4x3x16xf32> {
// CHECK:           te.reduce "max" [2, 2] : f32 {
// CHECK:         te.schedule {
// CHECK:           te.reorder
// CHECK-NEXT:      te.vectorize
// CHECK-NEXT:      te.parallel
// CHECK:         te.return %max_pool2d : tensor<1x4x3x16xf32>

// CHECK-LABEL: func.func @main(%x: tensor<1x2x6x32xf32> {xtvm.name = "x"}) -> (tensor<1x4x3x16xf32> {xtvm.name = "y"}) {
// CHECK-NEXT:    %w = arith.constant dense<5.000000e-01> : tensor<4x2x3x3xf32>
// CHECK-NEXT:    %b = arith.constant dense<{{\[\[\[}}1.000000e+00]], {{\[\[}}2.000000e+00]], {{\[\[}}3.000000e+00]], {{\[\[}}4.000000e+00]]]> : tensor<4x1x1xf32>
// CHECK-NEXT:    %c = te.call @fused_conv2d_add_relu(%x, %w, %b) : (tensor<1x2x6x32xf32>, tensor<4x2x3x3xf32>, tensor<4x1x1xf32>) -> tensor<1x4x6x32xf32>
// CHECK-NEXT:    %m = te.call @fused_max_pool2d(%c) : (tensor<1x4x6x32xf32>) -> tensor<1x4x3x16xf32>
// CHECK-NEXT:    func.return %m : tensor<1x4x3x16xf32>
// CHECK-NEXT:  }
