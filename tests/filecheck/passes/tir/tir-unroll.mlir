// RUN: xtvm-opt %s -p 'tir-unroll{max-trip=4}' | filecheck %s

// Three iterations: three copies of the body, the induction variable a constant in each.
// CHECK-LABEL: tir.prim_func @small
// CHECK-NOT:   tir.for
// CHECK:       %[[I0:[0-9]+]] = arith.constant 0 : index
// CHECK-NEXT:  %{{.*}} = memref.load %a[%[[I0]]] : memref<3xf32>
// CHECK-NEXT:  memref.store %{{.*}}, %b[%[[I0]]] : memref<3xf32>
// CHECK-NEXT:  %[[I1:[0-9]+]] = arith.constant 1 : index
// CHECK-NEXT:  %{{.*}} = memref.load %a[%[[I1]]] : memref<3xf32>
// CHECK-NEXT:  memref.store %{{.*}}, %b[%[[I1]]] : memref<3xf32>
// CHECK-NEXT:  %[[I2:[0-9]+]] = arith.constant 2 : index
// CHECK:       tir.return
tir.prim_func @small(%a: memref<3xf32>, %b: memref<3xf32>) {
  %lo = arith.constant 0 : index
  %one = arith.constant 1 : index
  %hi = arith.constant 3 : index
  tir.for %i = %lo to %hi step %one kind(unrolled) {
    %v = memref.load %a[%i] : memref<3xf32>
    memref.store %v, %b[%i] : memref<3xf32>
  }
  tir.return
}

// Nested: the inner unrolled loop expands inside each copy of the outer one (4 stores);
// a loop over max-trip becomes serial.
// CHECK-LABEL: tir.prim_func @nested
// CHECK-COUNT-4: memref.store
// CHECK:       tir.for %{{.*}} = %c0 to %c8 step %c1 {
// CHECK-NEXT:    memref.load
tir.prim_func @nested(%a: memref<2x2xf32>, %b: memref<8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c8 = arith.constant 8 : index
  %f = arith.constant 1.0 : f32
  tir.for %i = %c0 to %c2 step %c1 kind(unrolled) {
    tir.for %j = %c0 to %c2 step %c1 kind(unrolled) {
      memref.store %f, %a[%i, %j] : memref<2x2xf32>
    }
  }
  tir.for %k = %c0 to %c8 step %c1 kind(unrolled) {
    %v = memref.load %b[%k] : memref<8xf32>
    memref.store %v, %b[%k] : memref<8xf32>
  }
  tir.return
}
