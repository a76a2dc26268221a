// RUN: xtvm-opt %s --split-input-file --verify-diagnostics | filecheck %s

// CHECK: relay.if: the condition must be a 0-d or one-element i1 tensor, got tensor<2xi1>
func.func @cond_shape(%c: tensor<2xi1>, %x: tensor<4xf32>) -> tensor<4xf32> {
  %r = relay.if %c : tensor<2xi1> -> (tensor<4xf32>) {
    relay.yield %x : tensor<4xf32>
  } else {
    relay.yield %x : tensor<4xf32>
  }
  func.return %r : tensor<4xf32>
}

// -----

// CHECK: relay.if: the condition must be a 0-d or one-element i1 tensor, got tensor<f32>
func.func @cond_type(%c: tensor<f32>, %x: tensor<4xf32>) -> tensor<4xf32> {
  %r = relay.if %c : tensor<f32> -> (tensor<4xf32>) {
    relay.yield %x : tensor<4xf32>
  } else {
    relay.yield %x : tensor<4xf32>
  }
  func.return %r : tensor<4xf32>
}

// -----

// CHECK: relay.if: the else region yields (tensor<2xf32>), but the results are (tensor<4xf32>)
func.func @types(%c: tensor<i1>, %x: tensor<4xf32>, %y: tensor<2xf32>) -> tensor<4xf32> {
  %r = relay.if %c : tensor<i1> -> (tensor<4xf32>) {
    relay.yield %x : tensor<4xf32>
  } else {
    relay.yield %y : tensor<2xf32>
  }
  func.return %r : tensor<4xf32>
}

// -----

// CHECK: relay.if: the then region yields (), but the results are (tensor<4xf32>)
func.func @count(%c: tensor<i1>, %x: tensor<4xf32>) -> tensor<4xf32> {
  %r = relay.if %c : tensor<i1> -> (tensor<4xf32>) {
    relay.yield
  } else {
    relay.yield %x : tensor<4xf32>
  }
  func.return %r : tensor<4xf32>
}

// -----

// CHECK: Operation relay.exp terminates block in single-block region but is not a terminator
func.func @terminator(%c: tensor<i1>, %x: tensor<4xf32>) -> tensor<4xf32> {
  %r = relay.if %c : tensor<i1> -> (tensor<4xf32>) {
    %e = relay.exp %x : tensor<4xf32>
  } else {
    relay.yield %x : tensor<4xf32>
  }
  func.return %r : tensor<4xf32>
}

// -----

// CHECK: 'relay.yield' expects parent op to be one of 'relay.fused', 'relay.if'
func.func @stray_yield(%x: tensor<4xf32>) -> tensor<4xf32> {
  relay.yield %x : tensor<4xf32>
}
