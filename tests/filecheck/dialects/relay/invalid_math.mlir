// RUN: xtvm-opt %s --split-input-file --verify-diagnostics | filecheck %s

// CHECK: relay.sqrt: expects a floating-point tensor
func.func @sqrt_int(%x: tensor<4xi64>) -> tensor<4xi64> {
  %0 = relay.sqrt %x : tensor<4xi64>
  func.return %0 : tensor<4xi64>
}

// -----

// CHECK: relay.negative: expects a numeric tensor, got i1
func.func @negative_bool(%x: tensor<4xi1>) -> tensor<4xi1> {
  %0 = relay.negative %x : tensor<4xi1>
  func.return %0 : tensor<4xi1>
}

// -----

// CHECK: relay.logical_and: expects i1 tensors
func.func @and_float(%x: tensor<4xf32>) -> tensor<4xf32> {
  %0 = relay.logical_and %x, %x : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  func.return %0 : tensor<4xf32>
}

// -----

// CHECK: relay.less: result type tensor<4xf32> does not match the inferred type tensor<4xi1>
func.func @compare_result(%x: tensor<4xf32>) -> tensor<4xf32> {
  %0 = relay.less %x, %x : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  func.return %0 : tensor<4xf32>
}

// -----

// CHECK: relay.where: condition must be an i1 tensor
func.func @where_cond(%c: tensor<4xf32>, %x: tensor<4xf32>) -> tensor<4xf32> {
  %0 = relay.where %c, %x, %x : (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  func.return %0 : tensor<4xf32>
}

// -----

// CHECK: relay.where: cannot broadcast shapes [4], [3], [4]
func.func @where_shapes(%c: tensor<4xi1>, %x: tensor<3xf32>, %y: tensor<4xf32>) -> tensor<4xf32> {
  %0 = relay.where %c, %x, %y : (tensor<4xi1>, tensor<3xf32>, tensor<4xf32>) -> tensor<4xf32>
  func.return %0 : tensor<4xf32>
}

// -----

// CHECK: relay.mod: fmod must be 0 or 1
func.func @mod_attr(%x: tensor<4xi64>) -> tensor<4xi64> {
  %0 = relay.mod %x, %x {fmod = 2 : i64} : (tensor<4xi64>, tensor<4xi64>) -> tensor<4xi64>
  func.return %0 : tensor<4xi64>
}

// -----

// CHECK: relay.cast: the shape must not change
func.func @cast_shape(%x: tensor<4xf32>) -> tensor<2xi64> {
  %0 = relay.cast %x : (tensor<4xf32>) -> tensor<2xi64>
  func.return %0 : tensor<2xi64>
}
