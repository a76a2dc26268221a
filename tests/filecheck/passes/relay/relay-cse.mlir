// RUN: xtvm-opt %s -p relay-cse | filecheck %s

// Duplicate ops (same operands, attributes, types) and duplicate constants (same type and
// bytes) merge into the first; chains of duplicates collapse in order.
// CHECK-LABEL: func.func @dups
// CHECK-NEXT:    %a = relay.constant dense<[1.000000e+00, 2.000000e+00]> : tensor<2xf32>
// CHECK-NEXT:    %c = relay.constant dense<[1.000000e+00, 2.000000e+00]> : tensor<2xf64>
// CHECK-NEXT:    %s1 = relay.add %x, %a
// CHECK-NEXT:    %r1 = relay.relu %s1
// CHECK-NEXT:    %m = relay.multiply %r1, %r1
// CHECK-NEXT:    func.return %m, %c
func.func @dups(%x: tensor<2xf32>) -> (tensor<2xf32>, tensor<2xf64>) {
  %a = relay.constant dense<[1.0, 2.0]> : tensor<2xf32>
  %b = relay.constant dense<[1.0, 2.0]> : tensor<2xf32>
  %c = relay.constant dense<[1.0, 2.0]> : tensor<2xf64>
  %s1 = relay.add %x, %a : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
  %s2 = relay.add %x, %b : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
  %r1 = relay.relu %s1 : tensor<2xf32>
  %r2 = relay.relu %s2 : tensor<2xf32>
  %m = relay.multiply %r1, %r2 : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
  func.return %m, %c : tensor<2xf32>, tensor<2xf64>
}

// Different attributes, operand order or constant bytes keep ops apart.
// CHECK-LABEL: func.func @distinct
// CHECK-NEXT:    relay.constant dense<1.000000e+00>
// CHECK-NEXT:    relay.constant dense<2.000000e+00>
// CHECK-NEXT:    %s = relay.subtract %x, %y
// CHECK-NEXT:    %t = relay.subtract %y, %x
// CHECK-NEXT:    %c1 = relay.clip %s {a_min = 0.000000e+00 : f32, a_max = 1.000000e+00 : f32}
// CHECK-NEXT:    %c2 = relay.clip %s {a_min = 0.000000e+00 : f32, a_max = 2.000000e+00 : f32}
// CHECK-NEXT:    func.return
func.func @distinct(%x: tensor<2xf32>, %y: tensor<2xf32>) -> (tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) {
  %k1 = relay.constant dense<1.0> : tensor<2xf32>
  %k2 = relay.constant dense<2.0> : tensor<2xf32>
  %s = relay.subtract %x, %y : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
  %t = relay.subtract %y, %x : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
  %c1 = relay.clip %s {a_min = 0.0 : f32, a_max = 1.0 : f32} : tensor<2xf32>
  %c2 = relay.clip %s {a_min = 0.0 : f32, a_max = 2.0 : f32} : tensor<2xf32>
  func.return %k1, %k2, %s, %t, %c1, %c2 : tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>
}

// The inside of a fused group is left alone (its duplicate exps stay); identical groups with
// different kernel names are different ops.
// CHECK-LABEL: func.func @fused
// CHECK:         %e1 = relay.exp %a
// CHECK-NEXT:    %e2 = relay.exp %a
// CHECK:         relay.fused "k2"
func.func @fused(%x: tensor<2xf32>) -> (tensor<2xf32>, tensor<2xf32>) {
  %f = relay.fused "k1" (%x) : (tensor<2xf32>) -> (tensor<2xf32>) {
  ^bb0(%a: tensor<2xf32>):
    %e1 = relay.exp %a : tensor<2xf32>
    %e2 = relay.exp %a : tensor<2xf32>
    %s = relay.add %e1, %e2 : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
    relay.yield %s : tensor<2xf32>
  }
  %g = relay.fused "k2" (%x) : (tensor<2xf32>) -> (tensor<2xf32>) {
  ^bb0(%a: tensor<2xf32>):
    %e1 = relay.exp %a : tensor<2xf32>
    %e2 = relay.exp %a : tensor<2xf32>
    %s = relay.add %e1, %e2 : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
    relay.yield %s : tensor<2xf32>
  }
  func.return %f, %g : tensor<2xf32>, tensor<2xf32>
}
