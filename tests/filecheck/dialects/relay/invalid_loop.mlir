// RUN: xtvm-opt %s --split-input-file --verify-diagnostics | filecheck %s

// CHECK: relay.loop: carried value 0 is tensor<2xf32> but the body yields tensor<3xf32>; a carried value must keep its type across iterations
func.func @carried_shape(%m: tensor<i64>, %a: tensor<2xf32>, %b: tensor<3xf32>) -> tensor<2xf32> {
  %r = relay.loop trip(%m : tensor<i64>) (%a) : (tensor<2xf32>) -> () {
  ^bb0(%i: tensor<i64>, %k: tensor<i1>, %v: tensor<2xf32>):
    relay.yield %k, %b : tensor<i1>, tensor<3xf32>
  }
  func.return %r : tensor<2xf32>
}

// -----

// CHECK: relay.loop: stacked outputs need static trips (their length must have a static bound)
func.func @stacked_runtime(%m: tensor<i64>, %a: tensor<2xf32>) -> tensor<4x2xf32> {
  %r:2 = relay.loop trip(%m : tensor<i64>) (%a) : (tensor<2xf32>) -> (tensor<4x2xf32>) {
  ^bb0(%i: tensor<i64>, %k: tensor<i1>, %v: tensor<2xf32>):
    relay.yield %k, %v, %v : tensor<i1>, tensor<2xf32>, tensor<2xf32>
  }
  func.return %r#1 : tensor<4x2xf32>
}

// -----

// CHECK: relay.loop: stacked output 0 is tensor<3x2xf32>, but 4 rows of tensor<2xf32> give tensor<4x2xf32>
func.func @stacked_length(%a: tensor<2xf32>) -> tensor<3x2xf32> {
  %r:2 = relay.loop trips 4 (%a) : (tensor<2xf32>) -> (tensor<3x2xf32>) {
  ^bb0(%i: tensor<i64>, %k: tensor<i1>, %v: tensor<2xf32>):
    relay.yield %k, %v, %v : tensor<i1>, tensor<2xf32>, tensor<2xf32>
  }
  func.return %r#1 : tensor<3x2xf32>
}

// -----

// CHECK: relay.loop: trip must be a one-element i64 tensor, got tensor<2xi64>
func.func @trip_shape(%m: tensor<2xi64>, %a: tensor<2xf32>) -> tensor<2xf32> {
  %r = relay.loop trip(%m : tensor<2xi64>) (%a) : (tensor<2xf32>) -> () {
  ^bb0(%i: tensor<i64>, %k: tensor<i1>, %v: tensor<2xf32>):
    relay.yield %k, %v : tensor<i1>, tensor<2xf32>
  }
  func.return %r : tensor<2xf32>
}

// -----

// CHECK: relay.loop: the body takes (iteration tensor<i64>, condition tensor<i1>, carried...) = (tensor<i64>, tensor<i1>, tensor<2xf32>), got (tensor<i64>, tensor<2xf32>)
func.func @args(%m: tensor<i64>, %a: tensor<2xf32>) -> tensor<2xf32> {
  %r = relay.loop trip(%m : tensor<i64>) (%a) : (tensor<2xf32>) -> () {
  ^bb0(%i: tensor<i64>, %v: tensor<2xf32>):
    relay.yield %v : tensor<2xf32>
  }
  func.return %r : tensor<2xf32>
}

// -----

// CHECK: relay.loop: the yielded condition must be a one-element i1 tensor, got tensor<2xf32>
func.func @cond_yield(%m: tensor<i64>, %a: tensor<2xf32>) -> tensor<2xf32> {
  %r = relay.loop trip(%m : tensor<i64>) (%a) : (tensor<2xf32>) -> () {
  ^bb0(%i: tensor<i64>, %k: tensor<i1>, %v: tensor<2xf32>):
    relay.yield %v, %v : tensor<2xf32>, tensor<2xf32>
  }
  func.return %r : tensor<2xf32>
}

// -----

// CHECK: relay.loop: needs a trip count or a condition to end
func.func @endless(%a: tensor<2xf32>) -> tensor<2xf32> {
  %r = relay.loop (%a) : (tensor<2xf32>) -> () {
  ^bb0(%i: tensor<i64>, %k: tensor<i1>, %v: tensor<2xf32>):
    relay.yield %k, %v : tensor<i1>, tensor<2xf32>
  }
  func.return %r : tensor<2xf32>
}
