// RUN: xtvm-opt %s -p relay-half-storage | filecheck %s

// The first group rounds to half and widens again; its only user is a group, so the half
// value crosses the kernel boundary and the user widens it on entry. The second group's
// result goes to func.return and keeps its type.
// CHECK-LABEL: func.func @chain
// CHECK:         %a = relay.fused "fused_exp_cast_cast" (%x) : (tensor<8xf32>) -> (tensor<8xf16>) {
// CHECK:           %{{.*}} = relay.cast %{{.*}} : (tensor<8xf32>) -> tensor<8xf16>
// CHECK-NOT:       relay.cast
// CHECK:           relay.yield %{{.*}} : tensor<8xf16>
// CHECK:         %b = relay.fused "fused_sigmoid_cast_cast" (%a) : (tensor<8xf16>) -> (tensor<8xf32>) {
// CHECK-NEXT:    ^bb0(%{{.*}}: tensor<8xf16>):
// CHECK-NEXT:      %{{.*}} = relay.cast %{{.*}} : (tensor<8xf16>) -> tensor<8xf32>
// CHECK-NEXT:      relay.sigmoid
// CHECK:           relay.yield %{{.*}} : tensor<8xf32>
// CHECK:         func.return %b
func.func @chain(%x: tensor<8xf32>) -> tensor<8xf32> {
  %a = relay.fused "fused_exp_cast_cast" (%x) : (tensor<8xf32>) -> (tensor<8xf32>) {
  ^bb0(%p: tensor<8xf32>):
    %e = relay.exp %p : tensor<8xf32>
    %h = relay.cast %e : (tensor<8xf32>) -> tensor<8xf16>
    %w = relay.cast %h : (tensor<8xf16>) -> tensor<8xf32>
    relay.yield %w : tensor<8xf32>
  }
  %b = relay.fused "fused_sigmoid_cast_cast" (%a) : (tensor<8xf32>) -> (tensor<8xf32>) {
  ^bb0(%q: tensor<8xf32>):
    %s = relay.sigmoid %q : tensor<8xf32>
    %h2 = relay.cast %s : (tensor<8xf32>) -> tensor<8xf16>
    %w2 = relay.cast %h2 : (tensor<8xf16>) -> tensor<8xf32>
    relay.yield %w2 : tensor<8xf32>
  }
  func.return %b : tensor<8xf32>
}
