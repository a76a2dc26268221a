// RUN: xtvm-opt %s -p tir-loop-partition | filecheck %s

// 10 = 3 x 4 with a ragged tail: a guard i_o * 4 + i_i < 10 around the body. Iterations
// i_o in [0, 2) always pass it; only [2, 3) keeps it.
// CHECK-LABEL: tir.prim_func @guard
// CHECK:       %[[MID:.*]] = arith.constant 2 : index
// CHECK-NEXT:  tir.for %{{.*}} = %c0 to %[[MID]] step %c1 {
// CHECK-NEXT:    tir.for %{{.*}} = %c0 to %c4 step %c1 kind(vectorized) {
// CHECK-NOT:       arith.cmpi
// CHECK:           memref.store
// CHECK:       tir.for %{{.*}} = %[[MID]] to %c3 step %c1 {
// CHECK:           scf.if
tir.prim_func @guard(%a: memref<10xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c3 = arith.constant 3 : index
  %c4 = arith.constant 4 : index
  %c10 = arith.constant 10 : index
  %f = arith.constant 1.0 : f32
  tir.for %io = %c0 to %c3 step %c1 {
    tir.for %ii = %c0 to %c4 step %c1 kind(vectorized) {
      %s = arith.muli %io, %c4 : index
      %i = arith.addi %s, %ii : index
      %ok = arith.cmpi slt, %i, %c10 : index
      scf.if %ok {
        memref.store %f, %a[%i] : memref<10xf32>
      }
    }
  }
  tir.return
}

// An inner bound min(4, 10 - 4 * i_o): constant 4 for i_o in [0, 2).
// CHECK-LABEL: tir.prim_func @min_bound
// CHECK:       %[[MID:.*]] = arith.constant 2 : index
// CHECK-NEXT:  tir.for %{{.*}} = %c0 to %[[MID]] step %c1 {
// CHECK:         tir.for %{{.*}} = %c0 to %c4 step %c1 {
// CHECK:       tir.for %{{.*}} = %[[MID]] to %c3 step %c1 {
// CHECK:         %[[UB:.*]] = arith.minsi %c4, %{{.*}} : index
// CHECK-NEXT:    tir.for %{{.*}} = %c0 to %[[UB]] step %c1 {
tir.prim_func @min_bound(%a: memref<10xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c3 = arith.constant 3 : index
  %c4 = arith.constant 4 : index
  %c10 = arith.constant 10 : index
  %f = arith.constant 1.0 : f32
  tir.for %io = %c0 to %c3 step %c1 {
    %s = arith.muli %io, %c4 : index
    %rest = arith.subi %c10, %s : index
    %ub = arith.minsi %c4, %rest : index
    tir.for %ii = %c0 to %ub step %c1 {
      %i = arith.addi %s, %ii : index
      memref.store %f, %a[%i] : memref<10xf32>
    }
  }
  tir.return
}

// A parallel loop is not split (two fork/joins cost more than the check).
// CHECK-LABEL: tir.prim_func @parallel
// CHECK:       tir.for %{{.*}} = %c0 to %c3 step %c1 kind(parallel) {
// CHECK:         scf.if
// CHECK-NOT:   tir.for
tir.prim_func @parallel(%a: memref<10xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c3 = arith.constant 3 : index
  %c4 = arith.constant 4 : index
  %c10 = arith.constant 10 : index
  %f = arith.constant 1.0 : f32
  tir.for %io = %c0 to %c3 step %c1 kind(parallel) {
    tir.for %ii = %c0 to %c4 step %c1 {
      %s = arith.muli %io, %c4 : index
      %i = arith.addi %s, %ii : index
      %ok = arith.cmpi slt, %i, %c10 : index
      scf.if %ok {
        memref.store %f, %a[%i] : memref<10xf32>
      }
    }
  }
  tir.return
}
