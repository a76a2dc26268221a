// RUN: xtvm-opt %s -p tir-simplify | filecheck %s

// j = jo * 16 + ji with ji in [0, 16): j // 16 -> jo and j % 16 -> ji.
// CHECK-LABEL: tir.prim_func @divmod
// CHECK:       tir.for %[[JI:.*]] = %c0 to %c16 step %c1 {
// CHECK-NOT:     arith.divsi
// CHECK-NOT:     arith.remsi
// CHECK:         memref.load %w[%[[JO:.*]], %[[JI]]] : memref<4x16xf32>
tir.prim_func @divmod(%w: memref<4x16xf32>, %o: memref<64xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c16 = arith.constant 16 : index
  tir.for %jo = %c0 to %c4 step %c1 {
    tir.for %ji = %c0 to %c16 step %c1 {
      %a = arith.muli %jo, %c16 : index
      %j = arith.addi %a, %ji : index
      %q = arith.divsi %j, %c16 : index
      %r = arith.remsi %j, %c16 : index
      %v = memref.load %w[%q, %r] : memref<4x16xf32>
      memref.store %v, %o[%j] : memref<64xf32>
    }
  }
  tir.return
}

// The remainder part may reach the divisor (ji in [0, 20)): nothing to prove, unchanged.
// CHECK-LABEL: tir.prim_func @not_provable
// CHECK:       arith.divsi
// CHECK:       arith.remsi
tir.prim_func @not_provable(%w: memref<8x16xf32>, %o: memref<80xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c16 = arith.constant 16 : index
  %c20 = arith.constant 20 : index
  tir.for %jo = %c0 to %c4 step %c1 {
    tir.for %ji = %c0 to %c20 step %c1 {
      %a = arith.muli %jo, %c16 : index
      %j = arith.addi %a, %ji : index
      %q = arith.divsi %j, %c16 : index
      %r = arith.remsi %j, %c16 : index
      %v = memref.load %w[%q, %r] : memref<8x16xf32>
      memref.store %v, %o[%j] : memref<80xf32>
    }
  }
  tir.return
}

// (a + b) - a folds to b; a value in [0, 8) divided by 8 is 0 (constant).
// CHECK-LABEL: tir.prim_func @cancel
// CHECK:       tir.for %[[I:.*]] = %c0 to %c4 step %c1 {
// CHECK-NEXT:    tir.for %[[K:.*]] = %c0 to %c8 step %c1 {
// CHECK-NEXT:      %[[Z:.*]] = arith.constant 0 : index
// CHECK-NEXT:      %[[V:.*]] = memref.load %w[%[[Z]], %[[K]]] : memref<4x16xf32>
// CHECK-NEXT:      memref.store %[[V]], %o[%[[K]]] : memref<64xf32>
tir.prim_func @cancel(%w: memref<4x16xf32>, %o: memref<64xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  tir.for %i = %c0 to %c4 step %c1 {
    tir.for %k = %c0 to %c8 step %c1 {
      %a = arith.muli %i, %c8 : index
      %s = arith.addi %a, %k : index
      %d = arith.subi %s, %a : index
      %q = arith.divui %d, %c8 : index
      %v = memref.load %w[%q, %d] : memref<4x16xf32>
      memref.store %v, %o[%d] : memref<64xf32>
    }
  }
  tir.return
}
