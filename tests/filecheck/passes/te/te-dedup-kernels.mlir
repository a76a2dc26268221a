// RUN: xtvm-opt %s -p te-dedup-kernels | filecheck %s

// @relu_1 is @relu under another name: it goes, and its call targets @relu. @relu_2 differs
// (another constant), so it stays.
// CHECK:      te.kernel @relu {
// CHECK-NOT:  te.kernel @relu_1
// CHECK:      te.kernel @relu_2 {
// CHECK:      func.func @main
// CHECK-NEXT:   %[[A:.*]] = te.call @relu(%x)
// CHECK-NEXT:   %[[B:.*]] = te.call @relu(%[[A]])
// CHECK-NEXT:   %[[C:.*]] = te.call @relu_2(%[[B]])
te.kernel @relu {
  %p = te.placeholder "p" : tensor<8xf32>
  %r = te.compute "r" : tensor<8xf32> {
  ^bb0(%i: index):
    %v = te.read %p[%i] : tensor<8xf32>
    %z = arith.constant 0.0 : f32
    %m = arith.maximumf %v, %z : f32
    te.yield %m : f32
  }
  te.return %r : tensor<8xf32>
}
te.kernel @relu_1 {
  %p = te.placeholder "p" : tensor<8xf32>
  %r = te.compute "r" : tensor<8xf32> {
  ^bb0(%i: index):
    %v = te.read %p[%i] : tensor<8xf32>
    %z = arith.constant 0.0 : f32
    %m = arith.maximumf %v, %z : f32
    te.yield %m : f32
  }
  te.return %r : tensor<8xf32>
}
te.kernel @relu_2 {
  %p = te.placeholder "p" : tensor<8xf32>
  %r = te.compute "r" : tensor<8xf32> {
  ^bb0(%i: index):
    %v = te.read %p[%i] : tensor<8xf32>
    %z = arith.constant 1.0 : f32
    %m = arith.maximumf %v, %z : f32
    te.yield %m : f32
  }
  te.return %r : tensor<8xf32>
}
func.func @main(%x: tensor<8xf32>) -> tensor<8xf32> {
  %a = te.call @relu(%x) : (tensor<8xf32>) -> tensor<8xf32>
  %b = te.call @relu_1(%a) : (tensor<8xf32>) -> tensor<8xf32>
  %c = te.call @relu_2(%b) : (tensor<8xf32>) -> tensor<8xf32>
  func.return %c : tensor<8xf32>
}
