// RUN: xtvm-opt %s --split-input-file --parsing-diagnostics --verify-diagnostics | filecheck %s

// CHECK: relay.call: arguments (tensor<2xf32>) do not match the function type (tensor<4xf32>) -> tensor<4xf32>
func.func @call_args(%f: (tensor<4xf32>) -> tensor<4xf32>, %x: tensor<2xf32>) -> tensor<4xf32> {
  %r = "relay.call"(%f, %x) : ((tensor<4xf32>) -> tensor<4xf32>, tensor<2xf32>) -> tensor<4xf32>
  func.return %r : tensor<4xf32>
}

// -----

// CHECK: relay.call: results (tensor<2xf32>) do not match the function type (tensor<4xf32>) -> tensor<4xf32>
func.func @call_results(%f: (tensor<4xf32>) -> tensor<4xf32>, %x: tensor<4xf32>) -> tensor<2xf32> {
  %r = "relay.call"(%f, %x) : ((tensor<4xf32>) -> tensor<4xf32>, tensor<4xf32>) -> tensor<2xf32>
  func.return %r : tensor<2xf32>
}

// -----

// CHECK: relay.call: 2 operands but the type (tensor<4xf32>) -> tensor<4xf32> takes 1
func.func @call_count(%f: (tensor<4xf32>) -> tensor<4xf32>, %x: tensor<4xf32>) -> tensor<4xf32> {
  %r = relay.call %f(%x, %x) : (tensor<4xf32>) -> tensor<4xf32>
  func.return %r : tensor<4xf32>
}

// -----

// CHECK: relay.tuple_get: index 2 is out of range for tuple<tensor<4xf32>, tensor<2xf32>>
func.func @index(%t: tuple<tensor<4xf32>, tensor<2xf32>>) -> tensor<4xf32> {
  %r = relay.tuple_get %t[2] : tuple<tensor<4xf32>, tensor<2xf32>>
  func.return %r : tensor<4xf32>
}

// -----

// CHECK: relay.tuple_get: index 2 is out of range for tuple<tensor<4xf32>, tensor<2xf32>>
func.func @index_generic(%t: tuple<tensor<4xf32>, tensor<2xf32>>) -> tensor<4xf32> {
  %r = "relay.tuple_get"(%t) <{index = 2 : i64}> : (tuple<tensor<4xf32>, tensor<2xf32>>) -> tensor<4xf32>
  func.return %r : tensor<4xf32>
}

// -----

// CHECK: relay.tuple_get: result type tensor<2xf32> does not match field 0 of tuple<tensor<4xf32>, tensor<2xf32>>
func.func @field_type(%t: tuple<tensor<4xf32>, tensor<2xf32>>) -> tensor<2xf32> {
  %r = "relay.tuple_get"(%t) <{index = 0 : i64}> : (tuple<tensor<4xf32>, tensor<2xf32>>) -> tensor<2xf32>
  func.return %r : tensor<2xf32>
}

// -----

// CHECK: relay.tuple: result type tuple<tensor<4xf32>> does not match the inferred type tuple<tensor<2xf32>>
func.func @tuple_type(%x: tensor<2xf32>) -> tuple<tensor<4xf32>> {
  %r = "relay.tuple"(%x) : (tensor<2xf32>) -> tuple<tensor<4xf32>>
  func.return %r : tuple<tensor<4xf32>>
}

// -----

// CHECK: relay.let: the body yields (tensor<2xf32>), but the results are (tensor<4xf32>)
func.func @let_yield(%x: tensor<4xf32>, %y: tensor<2xf32>) -> tensor<4xf32> {
  %r = relay.let (%v = %x : tensor<4xf32>) -> (tensor<4xf32>) {
    relay.yield %y : tensor<2xf32>
  }
  func.return %r : tensor<4xf32>
}

// -----

// CHECK: Operation relay.exp terminates block in single-block region but is not a terminator
func.func @let_no_yield(%x: tensor<4xf32>) -> tensor<4xf32> {
  %r = relay.let (%v = %x : tensor<4xf32>) -> (tensor<4xf32>) {
    %e = relay.exp %v : tensor<4xf32>
  }
  func.return %r : tensor<4xf32>
}

// -----

// CHECK: relay.let: the body binds one variable of the value's type tensor<4xf32>
func.func @let_var(%x: tensor<4xf32>) -> tensor<4xf32> {
  %r = "relay.let"(%x) ({
  ^bb0(%v: tensor<2xf32>):
    relay.yield %x : tensor<4xf32>
  }) : (tensor<4xf32>) -> tensor<4xf32>
  func.return %r : tensor<4xf32>
}

// -----

// The variable is out of scope after the let's region.
// CHECK: values used but not defined: [%v]
func.func @let_scope(%x: tensor<4xf32>) -> tensor<4xf32> {
  %r = relay.let (%v = %x : tensor<4xf32>) -> (tensor<4xf32>) {
    relay.yield %v : tensor<4xf32>
  }
  func.return %v : tensor<4xf32>
}

// -----

// CHECK: relay.fn: the body yields (tensor<4xf32>), but the results are (tensor<2xf32>)
func.func @fn_yield(%x: tensor<4xf32>) -> ((tensor<4xf32>) -> tensor<2xf32>) {
  %f = relay.fn (%p: tensor<4xf32>) -> (tensor<2xf32>) {
    relay.yield %p : tensor<4xf32>
  }
  func.return %f : (tensor<4xf32>) -> tensor<2xf32>
}

// -----

// CHECK: relay.fn: parameters (tensor<2xf32>) do not match the type (tensor<4xf32>) -> tensor<4xf32>
func.func @fn_params() -> ((tensor<4xf32>) -> tensor<4xf32>) {
  %f = "relay.fn"() ({
  ^bb0(%p: tensor<2xf32>):
    relay.yield %p : tensor<2xf32>
  }) : () -> ((tensor<4xf32>) -> tensor<4xf32>)
  func.return %f : (tensor<4xf32>) -> tensor<4xf32>
}

// -----

// CHECK: relay.call: expected a function type, got tensor<4xf32>
func.func @callee_type(%x: tensor<4xf32>) -> tensor<4xf32> {
  %r = relay.call %x(%x) : tensor<4xf32>
  func.return %r : tensor<4xf32>
}

// -----

// CHECK: relay.let: cannot infer the results: no relay.yield
func.func @let_infer(%x: tensor<4xf32>) -> tensor<4xf32> {
  %r = relay.let (%v = %x : tensor<4xf32>) {
    %e = relay.exp %v : tensor<4xf32>
  }
  func.return %r : tensor<4xf32>
}
