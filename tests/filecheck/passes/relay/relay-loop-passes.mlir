// RUN: xtvm-opt %s -p relay-fold-constant,relay-dce | filecheck %s
// RUN: xtvm-opt %s -p relay-to-a-normal-form,relay-to-graph-normal-form | filecheck %s --check-prefix=GNF

// Graph passes inside relay.loop bodies: constants read from outside fold inside the body,
// dead ops of the body and an unused loop go; the let forms round-trip a loop unchanged.
// CHECK-LABEL: func.func @main
// CHECK-NEXT:    %r = relay.loop trip(%m : tensor<i64>) (%a) : (tensor<2xf32>) -> () {
// CHECK-NEXT:    ^bb0(%i: tensor<i64>, %k: tensor<i1>, %v: tensor<2xf32>):
// CHECK-NEXT:      %six = relay.constant dense<6.000000e+00> : tensor<f32>
// CHECK-NEXT:      %w = relay.multiply %v, %six
// CHECK-NEXT:      relay.yield %k, %w : tensor<i1>, tensor<2xf32>
// CHECK-NEXT:    }
// CHECK-NEXT:    func.return %r : tensor<2xf32>

// GNF:      %dead = relay.loop trip(%m : tensor<i64>) (%a)
// GNF:        %e = relay.exp %v : tensor<2xf32>
// GNF:      %r = relay.loop trip(%m : tensor<i64>) (%a)
// GNF-NEXT: ^bb0(%i_1: tensor<i64>, %k_1: tensor<i1>, %v_1: tensor<2xf32>):
// GNF-NEXT:   %six = relay.multiply %two, %three
// GNF-NEXT:   %unused = relay.tanh %v_1
// GNF-NEXT:   %w = relay.multiply %v_1, %six
// GNF-NEXT:   relay.yield %k_1, %w : tensor<i1>, tensor<2xf32>
// GNF-NOT:  relay.let
func.func @main(%m: tensor<i64>, %a: tensor<2xf32>) -> tensor<2xf32> {
  %two = relay.constant dense<2.0> : tensor<f32>
  %three = relay.constant dense<3.0> : tensor<f32>
  %dead = relay.loop trip(%m : tensor<i64>) (%a) : (tensor<2xf32>) -> () {
  ^bb0(%i: tensor<i64>, %k: tensor<i1>, %v: tensor<2xf32>):
    %e = relay.exp %v : tensor<2xf32>
    relay.yield %k, %e : tensor<i1>, tensor<2xf32>
  }
  %r = relay.loop trip(%m : tensor<i64>) (%a) : (tensor<2xf32>) -> () {
  ^bb0(%i: tensor<i64>, %k: tensor<i1>, %v: tensor<2xf32>):
    %six = relay.multiply %two, %three : (tensor<f32>, tensor<f32>) -> tensor<f32>
    %unused = relay.tanh %v : tensor<2xf32>
    %w = relay.multiply %v, %six : (tensor<2xf32>, tensor<f32>) -> tensor<2xf32>
    relay.yield %k, %w : tensor<i1>, tensor<2xf32>
  }
  func.return %r : tensor<2xf32>
}
