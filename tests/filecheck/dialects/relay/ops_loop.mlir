// RUN: xtvm-opt %s | xtvm-opt | filecheck %s
// RUN: xtvm-opt %s --print-op-generic | xtvm-opt | filecheck %s

// relay.loop: a runtime trip count and condition with carried state, and a static loop
// whose rows are stacked; the body reads outer values.
// CHECK-LABEL: func.func @loops
// CHECK:       %r = relay.loop trip(%m : tensor<i64>) cond(%c : tensor<i1>) (%a) : (tensor<2xf32>) -> () {
// CHECK-NEXT:  ^bb0(%i: tensor<i64>, %k: tensor<i1>, %v: tensor<2xf32>):
// CHECK-NEXT:    %w = relay.add %v, %a : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
// CHECK-NEXT:    relay.yield %k, %w : tensor<i1>, tensor<2xf32>
// CHECK-NEXT:  }
// CHECK:       %s, %s_1 = relay.loop trips 4 (%a) : (tensor<2xf32>) -> (tensor<4x2xf32>) {
// CHECK-NEXT:  ^bb0(%i_1: tensor<i64>, %k_1: tensor<i1>, %v_1: tensor<2xf32>):
// CHECK-NEXT:    %row = relay.take %x, %i_1 {axis = 0 : i64} : (tensor<4x2xf32>, tensor<i64>) -> tensor<2xf32>
// CHECK-NEXT:    %w_1 = relay.add %v_1, %row : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
// CHECK-NEXT:    relay.yield %k_1, %w_1, %w_1 : tensor<i1>, tensor<2xf32>, tensor<2xf32>
// CHECK-NEXT:  } attributes {xtvm.tag = "t"}
func.func @loops(%m: tensor<i64>, %c: tensor<i1>, %a: tensor<2xf32>, %x: tensor<4x2xf32>) -> (tensor<2xf32>, tensor<2xf32>, tensor<4x2xf32>) {
  %r = relay.loop trip(%m : tensor<i64>) cond(%c : tensor<i1>) (%a) : (tensor<2xf32>) -> () {
  ^bb0(%i: tensor<i64>, %k: tensor<i1>, %v: tensor<2xf32>):
    %w = relay.add %v, %a : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
    relay.yield %k, %w : tensor<i1>, tensor<2xf32>
  }
  %s:2 = relay.loop trips 4 (%a) : (tensor<2xf32>) -> (tensor<4x2xf32>) {
  ^bb0(%i: tensor<i64>, %k: tensor<i1>, %v: tensor<2xf32>):
    %row = relay.take %x, %i {axis = 0 : i64} : (tensor<4x2xf32>, tensor<i64>) -> tensor<2xf32>
    %w = relay.add %v, %row : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
    relay.yield %k, %w, %w : tensor<i1>, tensor<2xf32>, tensor<2xf32>
  } attributes {xtvm.tag = "t"}
  func.return %r, %s#0, %s#1 : tensor<2xf32>, tensor<2xf32>, tensor<4x2xf32>
}
