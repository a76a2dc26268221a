// RUN: xtvm-opt %s --split-input-file -p convert-te-to-tir | filecheck %s

// Elementwise: split by 4, vectorize the inner loop, parallel outer loop.
te.kernel @ew {
  %A = te.placeholder "A" : tensor<4x16xf32>
  %B = te.placeholder "B" : tensor<4x16xf32>
  %E = te.compute "E" : tensor<4x16xf32> {
  ^bb0(%i: index, %j: index):
    %a = te.read %A[%i, %j] : tensor<4x16xf32>
    %b = te.read %B[%i, %j] : tensor<4x16xf32>
    %s = arith.addf %a, %b : f32
    %e = math.exp %s : f32
    te.yield %e : f32
  }
  te.schedule {
    %s = te.stage "E"
    %i, %j = te.axes %s : !te.axis, !te.axis
    %jo, %ji = te.split %j by 4
    te.vectorize %ji
    te.parallel %i
  }
  te.return %E : tensor<4x16xf32>
}

// CHECK-LABEL: tir.prim_func @ew(%A: memref<4x16xf32>, %B: memref<4x16xf32>, %out: memref<4x16xf32>) {
// CHECK-DAG:     %[[C0:.*]] = arith.constant 0 : index
// CHECK-DAG:     %[[C1:.*]] = arith.constant 1 : index
// CHECK-DAG:     %[[C4:.*]] = arith.constant 4 : index
// CHECK:         tir.for %[[I:.*]] = %[[C0]] to %[[C4]] step %[[C1]] kind(parallel) {
// CHECK-NEXT:      tir.for %[[JO:.*]] = %[[C0]] to %[[C4]] step %[[C1]] {
// CHECK-NEXT:        tir.for %[[JI:.*]] = %[[C0]] to %[[C4]] step %[[C1]] kind(vectorized) {
// CHECK-NEXT:          %[[M:.*]] = arith.muli %[[JO]], %[[C4]] : index
// CHECK-NEXT:          %[[J:.*]] = arith.addi %[[M]], %[[JI]] : index
// CHECK-NEXT:          %[[A:.*]] = memref.load %A[%[[I]], %[[J]]] : memref<4x16xf32>
// CHECK-NEXT:          %[[B:.*]] = memref.load %B[%[[I]], %[[J]]] : memref<4x16xf32>
// CHECK-NEXT:          %[[S:.*]] = arith.addf %[[A]], %[[B]] : f32
// CHECK-NEXT:          %[[E:.*]] = math.exp %[[S]] : f32
// CHECK:               memref.store %[[E]], %out[%[[I]], %{{.*}}] : memref<4x16xf32>
// CHECK:         tir.return

// -----

// Reduction with spatial loops inside the reduction loop (TVM's init + update scheme).
te.kernel @mm {
  %A = te.placeholder "A" : tensor<4x8xf32>
  %B = te.placeholder "B" : tensor<8x16xf32>
  %C = te.compute "C" : tensor<4x16xf32> {
  ^bb0(%i: index, %j: index):
    %s = te.reduce "sum" [8] : f32 {
    ^bb1(%k: index):
      %a = te.read %A[%i, %k] : tensor<4x8xf32>
      %b = te.read %B[%k, %j] : tensor<8x16xf32>
      %m = arith.mulf %a, %b : f32
      te.yield %m : f32
    }
    te.yield %s : f32
  }
  te.schedule {
    %s = te.stage "C"
    %i, %j = te.axes %s : !te.axis, !te.axis
    %k = te.reduce_axes %s : !te.axis
    te.reorder %i, %k, %j
    te.vectorize %j
  }
  te.return %C : tensor<4x16xf32>
}

// CHECK-LABEL: tir.prim_func @mm(
// CHECK:         tir.for %[[I:.*]] = %{{.*}} to %{{.*}} step %{{.*}} {
// CHECK-NEXT:      tir.for %[[J0:.*]] = %{{.*}} to %{{.*}} step %{{.*}} kind(vectorized) {
// CHECK-NEXT:        %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-NEXT:        memref.store %[[ZERO]], %out[%[[I]], %[[J0]]]
// CHECK-NEXT:      }
// CHECK-NEXT:      tir.for %[[K:.*]] = %{{.*}} to %{{.*}} step %{{.*}} {
// CHECK-NEXT:        tir.for %[[J:.*]] = %{{.*}} to %{{.*}} step %{{.*}} kind(vectorized) {
// CHECK-NEXT:          %[[A:.*]] = memref.load %A[%[[I]], %[[K]]]
// CHECK-NEXT:          %[[B:.*]] = memref.load %B[%[[K]], %[[J]]]
// CHECK-NEXT:          %[[M:.*]] = arith.mulf %[[A]], %[[B]] : f32
// CHECK-NEXT:          %[[OLD:.*]] = memref.load %out[%[[I]], %[[J]]]
// CHECK-NEXT:          %[[NEW:.*]] = arith.addf %[[OLD]], %[[M]] : f32
// CHECK-NEXT:          memref.store %[[NEW]], %out[%[[I]], %[[J]]]

// -----

// compute_inline of a pad stage: its body is cloned into the reader.
te.kernel @conv1d {
  %X = te.placeholder "X" : tensor<8xf32>
  %P = te.compute "P" : tensor<10xf32> {
  ^bb0(%i: index):
    %c1 = arith.constant 1 : index
    %c0 = arith.constant 0 : index
    %c7 = arith.constant 7 : index
    %im = arith.subi %i, %c1 : index
    %lo = arith.maxsi %im, %c0 : index
    %ic = arith.minsi %lo, %c7 : index
    %v = te.read %X[%ic] : tensor<8xf32>
    %zero = arith.constant 0.0 : f32
    %inb = arith.cmpi eq, %im, %ic : index
    %r = arith.select %inb, %v, %zero : f32
    te.yield %r : f32
  }
  %Y = te.compute "Y" : tensor<8xf32> {
  ^bb0(%i: index):
    %s = te.reduce "max" [3] : f32 {
    ^bb1(%r: index):
      %ir = arith.addi %i, %r : index
      %v = te.read %P[%ir] : tensor<10xf32>
      te.yield %v : f32
    }
    te.yield %s : f32
  }
  te.schedule {
    %p = te.stage "P"
    te.compute_inline %p
  }
  te.return %Y : tensor<8xf32>
}

// CHECK-LABEL: tir.prim_func @conv1d(%X: memref<8xf32>, %out: memref<8xf32>) {
// CHECK-NOT:     memref<10xf32>
// CHECK:         %[[ACC:.*]] = tir.alloc "local" : memref<1xf32>
// CHECK:         tir.for %[[I:.*]] = %{{.*}} to %{{.*}} step %{{.*}} {
// CHECK-NEXT:      %[[NINF:.*]] = arith.constant 0xff800000 : f32
// CHECK-NEXT:      memref.store %[[NINF]], %[[ACC]][%{{.*}}] : memref<1xf32>
// CHECK-NEXT:      tir.for %[[R:.*]] = %{{.*}} to %{{.*}} step %{{.*}} {
// CHECK-NEXT:        %[[IR:.*]] = arith.addi %[[I]], %[[R]] : index
// CHECK:             %[[IM:.*]] = arith.subi %[[IR]], %{{.*}} : index
// CHECK:             %[[V:.*]] = memref.load %X[%{{.*}}] : memref<8xf32>
// CHECK:             %[[SEL:.*]] = arith.select %{{.*}}, %[[V]], %{{.*}} : f32
// CHECK-NEXT:        %[[OLD:.*]] = memref.load %[[ACC]]
// CHECK-NEXT:        %[[MAX:.*]] = arith.maximumf %[[OLD]], %[[SEL]] : f32
// CHECK-NEXT:        memref.store %[[MAX]], %[[ACC]]
// CHECK-NEXT:      }
// CHECK-NEXT:      %[[RES:.*]] = memref.load %[[ACC]]
// CHECK-NEXT:      memref.store %[[RES]], %out[%[[I]]] : memref<8xf32>

// -----

// fuse of two adjacent axes; the original axes come back as div/rem of the fused one.
te.kernel @relu {
  %A = te.placeholder "A" : tensor<3x5xf32>
  %R = te.compute "R" : tensor<3x5xf32> {
  ^bb0(%i: index, %j: index):
    %a = te.read %A[%i, %j] : tensor<3x5xf32>
    %z = arith.constant 0.0 : f32
    %r = arith.maximumf %a, %z : f32
    te.yield %r : f32
  }
  te.schedule {
    %s = te.stage "R"
    %i, %j = te.axes %s : !te.axis, !te.axis
    %f = te.fuse %i, %j
    te.parallel %f
  }
  te.return %R : tensor<3x5xf32>
}

// CHECK-LABEL: tir.prim_func @relu(
// CHECK-DAG:     %[[C5:.*]] = arith.constant 5 : index
// CHECK-DAG:     %[[C15:.*]] = arith.constant 15 : index
// CHECK:         tir.for %[[F:.*]] = %{{.*}} to %[[C15]] step %{{.*}} kind(parallel) {
// CHECK-NEXT:      %[[I:.*]] = arith.divui %[[F]], %[[C5]] : index
// CHECK-NEXT:      %[[J:.*]] = arith.remui %[[F]], %[[C5]] : index
// CHECK-NEXT:      memref.load %A[%[[I]], %[[J]]]
// CHECK:           memref.store %{{.*}}, %out[%[[I]], %[[J]]]

// -----

// A ragged split: 10 by 3 gives 4 outer iterations, the inner bound is min(3, 10 - 3*o).
te.kernel @neg {
  %A = te.placeholder "A" : tensor<10xf32>
  %N = te.compute "N" : tensor<10xf32> {
  ^bb0(%i: index):
    %a = te.read %A[%i] : tensor<10xf32>
    %n = arith.negf %a : f32
    te.yield %n : f32
  }
  te.schedule {
    %s = te.stage "N"
    %i = te.axes %s : !te.axis
    %o, %in = te.split %i by 3
  }
  te.return %N : tensor<10xf32>
}

// CHECK-LABEL: tir.prim_func @neg(
// CHECK-DAG:     %[[C3:.*]] = arith.constant 3 : index
// CHECK-DAG:     %[[C4:.*]] = arith.constant 4 : index
// CHECK-DAG:     %[[C10:.*]] = arith.constant 10 : index
// CHECK:         tir.for %[[O:.*]] = %{{.*}} to %[[C4]] step %{{.*}} {
// CHECK-NEXT:      %[[M:.*]] = arith.muli %[[O]], %[[C3]] : index
// CHECK-NEXT:      %[[REST:.*]] = arith.subi %[[C10]], %[[M]] : index
// CHECK-NEXT:      %[[UB:.*]] = arith.minsi %[[C3]], %[[REST]] : index
// CHECK-NEXT:      tir.for %{{.*}} = %{{.*}} to %[[UB]] step %{{.*}} {
// CHECK-NOT:         scf.if
// CHECK:             arith.negf

// -----

// The same ragged split, vectorized: constant trip count and a guard.
te.kernel @neg_vec {
  %A = te.placeholder "A" : tensor<10xf32>
  %N = te.compute "N" : tensor<10xf32> {
  ^bb0(%i: index):
    %a = te.read %A[%i] : tensor<10xf32>
    %n = arith.negf %a : f32
    te.yield %n : f32
  }
  te.schedule {
    %s = te.stage "N"
    %i = te.axes %s : !te.axis
    %o, %in = te.split %i by 3
    te.vectorize %in
  }
  te.return %N : tensor<10xf32>
}

// CHECK-LABEL: tir.prim_func @neg_vec(
// CHECK:         tir.for %[[O:.*]] = %{{.*}} to %{{.*}} step %{{.*}} {
// CHECK-NEXT:      tir.for %[[IN:.*]] = %{{.*}} to %[[C3:.*]] step %{{.*}} kind(vectorized) {
// CHECK-NEXT:        %[[M:.*]] = arith.muli %[[O]], %[[C3]] : index
// CHECK-NEXT:        %[[IDX:.*]] = arith.addi %[[M]], %[[IN]] : index
// CHECK-NEXT:        %[[OK:.*]] = arith.cmpi slt, %[[IDX]], %{{.*}} : index
// CHECK-NEXT:        scf.if %[[OK]] {
// CHECK:               arith.negf

// -----

// compute_at: the dense stage is computed per (i, jo) over the 1x8 region the relu needs.
te.kernel @fused_dense_relu {
  %A = te.placeholder "A" : tensor<4x8xf32>
  %W = te.placeholder "W" : tensor<16x8xf32>
  %D = te.compute "D" : tensor<4x16xf32> {
  ^bb0(%i: index, %j: index):
    %s = te.reduce "sum" [8] : f32 {
    ^bb1(%k: index):
      %a = te.read %A[%i, %k] : tensor<4x8xf32>
      %w = te.read %W[%j, %k] : tensor<16x8xf32>
      %m = arith.mulf %a, %w : f32
      te.yield %m : f32
    }
    te.yield %s : f32
  }
  %R = te.compute "R" : tensor<4x16xf32> {
  ^bb0(%i: index, %j: index):
    %v = te.read %D[%i, %j] : tensor<4x16xf32>
    %z = arith.constant 0.0 : f32
    %r = arith.maximumf %v, %z : f32
    te.yield %r : f32
  }
  te.schedule {
    %s = te.stage "R"
    %i, %j = te.axes %s : !te.axis, !te.axis
    %jo, %ji = te.split %j by 8
    te.vectorize %ji
    te.parallel %i
    %d = te.stage "D"
    te.compute_at %d, %jo
  }
  te.return %R : tensor<4x16xf32>
}

// CHECK-LABEL: tir.prim_func @fused_dense_relu(
// CHECK:         tir.for %[[I:.*]] = %{{.*}} to %{{.*}} step %{{.*}} kind(parallel) {
// CHECK-NEXT:      %[[D:.*]] = tir.alloc "local" : memref<1x8xf32>
// CHECK-NEXT:      %[[ACC:.*]] = tir.alloc "local" : memref<1xf32>
// CHECK-NEXT:      tir.for %[[JO:.*]] = %{{.*}} to %{{.*}} step %{{.*}} {
// CHECK-NEXT:        %[[START:.*]] = arith.muli %[[JO]], %[[C8:.*]] : index
// CHECK-NEXT:        tir.for %[[DJ:.*]] = %{{.*}} to %[[C8]] step %{{.*}} {
// CHECK:               tir.for %[[K:.*]] = %{{.*}} to %[[C8]] step %{{.*}} {
// CHECK-NEXT:            %[[WJ:.*]] = arith.addi %[[START]], %[[DJ]] : index
// CHECK-NEXT:            memref.load %A[%[[I]], %[[K]]]
// CHECK-NEXT:            memref.load %W[%[[WJ]], %[[K]]]
// CHECK:               memref.store %{{.*}}, %[[D]][%{{.*}}, %[[DJ]]] : memref<1x8xf32>
// CHECK:             tir.for %[[JI:.*]] = %{{.*}} to %[[C8]] step %{{.*}} kind(vectorized) {
// CHECK:               %[[OFF:.*]] = arith.subi %{{.*}}, %[[START]] : index
// CHECK-NEXT:          memref.load %[[D]][%{{.*}}, %[[OFF]]] : memref<1x8xf32>
// CHECK:               arith.maximumf
// CHECK:               memref.store %{{.*}}, %out[%[[I]], %{{.*}}] : memref<4x16xf32>

// -----

// compute_at with a halo: 4-row tiles of a 3x3 window need 6 rows of P; the last
// (ragged) tile's region start is clamped so the region stays inside P.
te.kernel @blur {
  %X = te.placeholder "X" : tensor<6x7xf32>
  %P = te.compute "P" : tensor<8x9xf32> {
  ^bb0(%i: index, %j: index):
    %c1 = arith.constant 1 : index
    %c0 = arith.constant 0 : index
    %c5 = arith.constant 5 : index
    %c6 = arith.constant 6 : index
    %im = arith.subi %i, %c1 : index
    %jm = arith.subi %j, %c1 : index
    %ic = arith.maxsi %im, %c0 : index
    %ic2 = arith.minsi %ic, %c5 : index
    %jc = arith.maxsi %jm, %c0 : index
    %jc2 = arith.minsi %jc, %c6 : index
    %v = te.read %X[%ic2, %jc2] : tensor<6x7xf32>
    te.yield %v : f32
  }
  %B = te.compute "B" : tensor<6x7xf32> {
  ^bb0(%i: index, %j: index):
    %s = te.reduce "sum" [3, 3] : f32 {
    ^bb1(%di: index, %dj: index):
      %ii = arith.addi %i, %di : index
      %jj = arith.addi %j, %dj : index
      %v = te.read %P[%ii, %jj] : tensor<8x9xf32>
      te.yield %v : f32
    }
    te.yield %s : f32
  }
  te.schedule {
    %sb = te.stage "B"
    %i, %j = te.axes %sb : !te.axis, !te.axis
    %io, %ii = te.split %i by 4
    %sp = te.stage "P"
    te.compute_at %sp, %io
  }
  te.return %B : tensor<6x7xf32>
}

// CHECK-LABEL: tir.prim_func @blur(
// CHECK:         %[[P:.*]] = tir.alloc "local" : memref<6x9xf32>
// CHECK:         tir.for %[[IO:.*]] = %{{.*}} to %{{.*}} step %{{.*}} {
// CHECK-NEXT:      %[[LO:.*]] = arith.muli %[[IO]], %[[C4:.*]] : index
// CHECK-NEXT:      %[[START:.*]] = arith.minsi %[[LO]], %[[C2:.*]] : index
// CHECK-NEXT:      tir.for %[[PI:.*]] = %{{.*}} to %[[C6:.*]] step %{{.*}} {
// CHECK-NEXT:        tir.for %[[PJ:.*]] = %{{.*}} to %[[C9:.*]] step %{{.*}} {
// CHECK-NEXT:          arith.addi %[[START]], %[[PI]] : index
// CHECK:               memref.store %{{.*}}, %[[P]][%[[PI]], %[[PJ]]] : memref<6x9xf32>
// CHECK:           tir.for %{{.*}} = %{{.*}} to %{{.*}} step %{{.*}} {
// CHECK:             tir.for %{{.*}} = %{{.*}} to %{{.*}} step %{{.*}} {
// CHECK:                 %[[ROW:.*]] = arith.subi %{{.*}}, %[[START]] : index
// CHECK-NEXT:            memref.load %[[P]][%[[ROW]], %{{.*}}] : memref<6x9xf32>

// -----

// cache_write: the reduction runs in a local tile (computed at the fused parallel loop,
// reduction loop outermost), then the tile is copied to the output.
te.kernel @mm {
  %A = te.placeholder "A" : tensor<8x5xf32>
  %B = te.placeholder "B" : tensor<5x8xf32>
  %C = te.compute "C" : tensor<8x8xf32> {
  ^bb0(%i: index, %j: index):
    %s = te.reduce "sum" [5] : f32 {
    ^bb1(%k: index):
      %a = te.read %A[%i, %k] : tensor<8x5xf32>
      %b = te.read %B[%k, %j] : tensor<5x8xf32>
      %m = arith.mulf %a, %b : f32
      te.yield %m : f32
    }
    te.yield %s : f32
  }
  te.schedule {
    %s = te.stage "C"
    %l = te.cache_write %s
    %i, %j = te.axes %s : !te.axis, !te.axis
    %io, %jo, %ii, %ji = te.tile %i, %j by [4, 4]
    %f = te.fuse %io, %jo
    te.parallel %f
    te.vectorize %ji
    te.compute_at %l, %f
    %li, %lj = te.axes %l : !te.axis, !te.axis
    %lk = te.reduce_axes %l : !te.axis
    te.reorder %lk, %li, %lj
    te.unroll %li
    te.vectorize %lj
  }
  te.return %C : tensor<8x8xf32>
}

// CHECK-LABEL: tir.prim_func @mm(
// CHECK:         tir.for %[[F:.*]] = %{{.*}} to %{{.*}} step %{{.*}} kind(parallel) {
// CHECK-NEXT:      %[[L:.*]] = tir.alloc "local" : memref<4x4xf32>
// CHECK:           tir.for %[[LI:.*]] = %{{.*}} to %{{.*}} step %{{.*}} kind(unrolled) {
// CHECK-NEXT:        tir.for %[[LJ:.*]] = %{{.*}} to %{{.*}} step %{{.*}} kind(vectorized) {
// CHECK-NEXT:          %[[Z:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-NEXT:          memref.store %[[Z]], %[[L]][%[[LI]], %[[LJ]]] : memref<4x4xf32>
// CHECK:           tir.for %[[LK:.*]] = %{{.*}} to %{{.*}} step %{{.*}} {
// CHECK-NEXT:        tir.for %{{.*}} = %{{.*}} to %{{.*}} step %{{.*}} kind(unrolled) {
// CHECK-NEXT:          tir.for %{{.*}} = %{{.*}} to %{{.*}} step %{{.*}} kind(vectorized) {
// CHECK:                 arith.addf
// CHECK-NEXT:            memref.store %{{.*}}, %[[L]]
// CHECK:           tir.for %{{.*}} = %{{.*}} to %{{.*}} step %{{.*}} {
// CHECK-NEXT:        tir.for %{{.*}} = %{{.*}} to %{{.*}} step %{{.*}} kind(vectorized) {
// CHECK:               %[[V:.*]] = memref.load %[[L]]
// CHECK:               memref.store %[[V]], %out

// -----

// Three kernels in a chain: t0 and t2 are never live at once, so they share offset 0.
te.kernel @add1 {
  %A = te.placeholder "A" : tensor<4x4xf32>
  %R = te.compute "R" : tensor<4x4xf32> {
  ^bb0(%i: index, %j: index):
    %a = te.read %A[%i, %j] : tensor<4x4xf32>
    %one = arith.constant 1.0 : f32
    %r = arith.addf %a, %one : f32
    te.yield %r : f32
  }
  te.return %R : tensor<4x4xf32>
}
func.func @main(%x: tensor<4x4xf32> {xtvm.name = "x"}) -> (tensor<4x4xf32> {xtvm.name = "y"}) {
  %t0 = te.call @add1(%x) : (tensor<4x4xf32>) -> tensor<4x4xf32>
  %t1 = te.call @add1(%t0) : (tensor<4x4xf32>) -> tensor<4x4xf32>
  %t2 = te.call @add1(%t1) : (tensor<4x4xf32>) -> tensor<4x4xf32>
  %y = te.call @add1(%t2) : (tensor<4x4xf32>) -> tensor<4x4xf32>
  func.return %y : tensor<4x4xf32>
}

// CHECK-LABEL: tir.prim_func @main(%x: memref<4x4xf32>, %y: memref<4x4xf32>)
// CHECK-SAME:    attributes {xtvm.entry, xtvm.num_inputs = 1 : i64, xtvm.arg_names = ["x", "y"], xtvm.workspace_bytes = 128 : i64}
// CHECK-NEXT:    %[[T0:.*]] = tir.workspace_buffer offset 0 : memref<4x4xf32>
// CHECK-NEXT:    %[[T1:.*]] = tir.workspace_buffer offset 64 : memref<4x4xf32>
// CHECK-NEXT:    %[[T2:.*]] = tir.workspace_buffer offset 0 : memref<4x4xf32>
// CHECK-NEXT:    tir.call @add1(%x, %[[T0]])
// CHECK-NEXT:    tir.call @add1(%[[T0]], %[[T1]])
// CHECK-NEXT:    tir.call @add1(%[[T1]], %[[T2]])
// CHECK-NEXT:    tir.call @add1(%[[T2]], %y)
// CHECK-NEXT:    tir.return

// -----

// Outputs that are an input, a weight, and the same value twice are filled by copies.
te.kernel @add1 {
  %A = te.placeholder "A" : tensor<2xf32>
  %R = te.compute "R" : tensor<2xf32> {
  ^bb0(%i: index):
    %a = te.read %A[%i] : tensor<2xf32>
    %one = arith.constant 1.0 : f32
    %r = arith.addf %a, %one : f32
    te.yield %r : f32
  }
  te.return %R : tensor<2xf32>
}
func.func @main(%x: tensor<2xf32>) -> (tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) {
  %w = arith.constant dense<[1.0, 2.0]> : tensor<2xf32>
  %y = te.call @add1(%w) : (tensor<2xf32>) -> tensor<2xf32>
  func.return %y, %x, %w, %y : tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>
}

// CHECK:       tir.global @w0 = dense<[1.000000e+00, 2.000000e+00]> : tensor<2xf32> : memref<2xf32>
// CHECK:       tir.prim_func @__copy0(%src: memref<2xf32>, %dst: memref<2xf32>) {
// CHECK-LABEL: tir.prim_func @main(%input0: memref<2xf32>, %output0: memref<2xf32>, %output1: memref<2xf32>, %output2: memref<2xf32>, %output3: memref<2xf32>)
// CHECK-SAME:    xtvm.arg_names = ["input0", "output0", "output1", "output2", "output3"]
// CHECK-NEXT:    %[[W:.*]] = tir.global_ref @w0 : memref<2xf32>
// CHECK-NEXT:    tir.call @add1(%[[W]], %output0)
// CHECK-NEXT:    tir.call @__copy0(%input0, %output1)
// CHECK-NEXT:    tir.call @__copy0(%[[W]], %output2)
// CHECK-NEXT:    tir.call @__copy0(%output0, %output3)
// CHECK-NEXT:    tir.return

// -----

// An empty reduction (extent 0) keeps its init: the result is the identity (-inf for max).
te.kernel @empty_max {
  %A = te.placeholder "A" : tensor<4x0xf32>
  %B = te.compute "B" : tensor<4xf32> {
  ^bb0(%i: index):
    %s = te.reduce "max" [0] : f32 {
    ^bb1(%k: index):
      %a = te.read %A[%i, %k] : tensor<4x0xf32>
      te.yield %a : f32
    }
    te.yield %s : f32
  }
  te.return %B : tensor<4xf32>
}

// CHECK-LABEL: tir.prim_func @empty_max(%A: memref<4x0xf32>, %out: memref<4xf32>)
// CHECK:         %[[NEGINF:.*]] = arith.constant 0xff800000 : f32
// CHECK-NEXT:    memref.store %[[NEGINF]], %B_acc
// CHECK-NEXT:    tir.for %{{.*}} = %[[C0:.*]] to %[[C0]] step

// -----

// GPU: blocks and threads bound, a per-thread local accumulator, a shared tile of A loaded
// by the threads at each reduction step, between two barriers.
te.kernel @mm {
  %A = te.placeholder "A" : tensor<8x4xf32>
  %B = te.placeholder "B" : tensor<8x4xf32>
  %C = te.compute "C" {tag = "dense"} : tensor<8x8xf32> {
  ^bb0(%i: index, %j: index):
    %0 = te.reduce "sum" [4] : f32 {
    ^bb0(%r0: index):
      %1 = te.read %A[%i, %r0] : tensor<8x4xf32>
      %2 = te.read %B[%j, %r0] : tensor<8x4xf32>
      %3 = arith.mulf %1, %2 : f32
      te.yield %3 : f32
    }
    te.yield %0 : f32
  }
  te.schedule {
    %4 = te.stage "C"
    %5 = te.cache_write %4 in "local"
    %6, %7 = te.axes %4 : !te.axis, !te.axis
    %8, %9 = te.split %6 by 4
    %10, %11 = te.split %7 by 8
    te.reorder %8, %10, %9, %11
    te.bind %8 "blockIdx.x"
    te.bind %9 "threadIdx.y"
    te.bind %11 "threadIdx.x"
    te.compute_at %5, %11
    %12, %13 = te.axes %5 : !te.axis, !te.axis
    %14 = te.reduce_axes %5 : !te.axis
    %15, %16 = te.split %14 by 2
    %17 = te.cache_read "A" in "shared"
    te.compute_at %17, %15
    %18, %19 = te.axes %17 : !te.axis, !te.axis
    %20 = te.fuse %18, %19
    %21, %22 = te.split %20 by 8
    te.bind %22 "threadIdx.x"
  }
  te.return %C : tensor<8x8xf32>
}

// CHECK-LABEL: tir.prim_func @mm(%A: memref<8x4xf32>, %B: memref<8x4xf32>, %out: memref<8x8xf32>) {
// CHECK:         %[[AS:.*]] = tir.alloc "shared" : memref<4x2xf32>
// CHECK-NEXT:    tir.for %[[BX:.*]] = %{{.*}} to %{{.*}} step %{{.*}} kind(thread "blockIdx.x") {
// CHECK-NEXT:      tir.for %[[TY:.*]] = %{{.*}} to %{{.*}} step %{{.*}} kind(thread "threadIdx.y") {
// CHECK-NEXT:        tir.for %[[TX:.*]] = %{{.*}} to %{{.*}} step %{{.*}} kind(thread "threadIdx.x") {
// CHECK-NEXT:          %[[CL:.*]] = tir.alloc "local" : memref<1x1xf32>
// CHECK:               tir.for %[[KO:.*]] = %{{.*}} to %{{.*}} step %{{.*}} {
// CHECK:                 %[[ROW:.*]] = arith.divui %[[TX]], %{{.*}} : index
// CHECK:                 %[[V:.*]] = memref.load %A[{{.*}}] : memref<8x4xf32>
// CHECK-NEXT:            memref.store %[[V]], %[[AS]][%[[ROW]], %{{.*}}] : memref<4x2xf32>
// CHECK-NEXT:            tir.barrier
// CHECK-NEXT:            tir.for %{{.*}} = %{{.*}} to %{{.*}} step %{{.*}} {
// CHECK:                   memref.load %[[AS]]
// CHECK:                 }
// CHECK-NEXT:            tir.barrier
// CHECK-NEXT:          }
// CHECK:               memref.store %{{.*}}, %out[%{{.*}}, %[[TX]]] : memref<8x8xf32>
