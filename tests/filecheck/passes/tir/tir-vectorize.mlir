// RUN: xtvm-opt %s -p 'tir-vectorize{lanes=8}' | filecheck %s

// A contiguous body: 20 = 2 x 8 lanes in a serial loop, then a 4-lane remainder.
// CHECK-LABEL: tir.prim_func @contiguous
// CHECK:       %[[UB:.*]] = arith.constant 16 : index
// CHECK-NEXT:  %[[STEP:.*]] = arith.constant 8 : index
// CHECK-NEXT:  tir.for %[[I:.*]] = %c0 to %[[UB]] step %[[STEP]] {
// CHECK-NEXT:    %[[X:.*]] = vector.load %a[%[[I]]] : memref<32xf32>, vector<8xf32>
// CHECK-NEXT:    %[[S:.*]] = memref.load %a[%c2] : memref<32xf32>
// CHECK-NEXT:    %[[SB:.*]] = vector.broadcast %[[S]] : f32 to vector<8xf32>
// CHECK-NEXT:    %[[M:.*]] = arith.mulf %[[X]], %[[SB]] : vector<8xf32>
// CHECK-NEXT:    %[[E:.*]] = math.exp %[[M]] : vector<8xf32>
// CHECK-NEXT:    %[[G:.*]] = llvmx.fcmp "ogt" %[[E]], %[[SB]] : vector<8xf32> -> vector<8xi1>
// CHECK-NEXT:    %[[Z:.*]] = vector.broadcast %f0 : f32 to vector<8xf32>
// CHECK-NEXT:    %[[R:.*]] = llvmx.select %[[G]], %[[E]], %[[Z]] : vector<8xi1>, vector<8xf32>
// CHECK-NEXT:    vector.store %[[R]], %b[%[[I]]] : memref<32xf32>, vector<8xf32>
// CHECK-NEXT:  }
// CHECK:       %[[REST:.*]] = arith.constant 16 : index
// CHECK:       vector.load %a[%[[REST]]] : memref<32xf32>, vector<4xf32>
// CHECK:       vector.store %{{.*}}, %b[%[[REST]]] : memref<32xf32>, vector<4xf32>
// CHECK-NOT:   kind(vectorized)
// CHECK:       tir.return
tir.prim_func @contiguous(%a: memref<32xf32>, %b: memref<32xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c20 = arith.constant 20 : index
  %f0 = arith.constant 0.0 : f32
  tir.for %i = %c0 to %c20 step %c1 kind(vectorized) {
    %x = memref.load %a[%i] : memref<32xf32>
    %s = memref.load %a[%c2] : memref<32xf32>
    %m = arith.mulf %x, %s : f32
    %e = math.exp %m : f32
    %g = arith.cmpf ogt, %e, %s : f32
    %r = arith.select %g, %e, %f0 : f32
    memref.store %r, %b[%i] : memref<32xf32>
  }
  tir.return
}

// Row offset + iv in the last index, iota from index_cast, int -> float cast.
// CHECK-LABEL: tir.prim_func @rows
// CHECK:       tir.for %i = %c0 to %c4 step %c1 kind(parallel) {
// CHECK-NEXT:    %[[C:.*]] = arith.constant 0 : index
// CHECK-NEXT:    vector.load %a[%i, %[[C]]] : memref<4x8xi64>, vector<8xi64>
// CHECK:         arith.constant dense<[0, 1, 2, 3, 4, 5, 6, 7]> : vector<8xi64>
// CHECK:         llvmx.sitofp %{{.*}} : vector<8xi64> to vector<8xf32>
// CHECK:         vector.store %{{.*}}, %b[%i, %[[C]]] : memref<4x8xf32>, vector<8xf32>
tir.prim_func @rows(%a: memref<4x8xi64>, %b: memref<4x8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  tir.for %i = %c0 to %c4 step %c1 kind(parallel) {
    tir.for %j = %c0 to %c8 step %c1 kind(vectorized) {
      %x = memref.load %a[%i, %j] : memref<4x8xi64>
      %k = arith.index_cast %j : index to i64
      %s = arith.addi %x, %k : i64
      %f = arith.sitofp %s : i64 to f32
      memref.store %f, %b[%i, %j] : memref<4x8xf32>
    }
  }
  tir.return
}

// Refused: a strided store (a transpose) stays a serial loop, body unchanged.
// CHECK-LABEL: tir.prim_func @strided
// CHECK:       tir.for %j = %c0 to %c4 step %c1 {
// CHECK-NEXT:    %x = memref.load %a[%i, %j] : memref<4x4xf32>
// CHECK-NEXT:    memref.store %x, %b[%j, %i] : memref<4x4xf32>
tir.prim_func @strided(%a: memref<4x4xf32>, %b: memref<4x4xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  tir.for %i = %c0 to %c4 step %c1 {
    tir.for %j = %c0 to %c4 step %c1 kind(vectorized) {
      %x = memref.load %a[%i, %j] : memref<4x4xf32>
      memref.store %x, %b[%j, %i] : memref<4x4xf32>
    }
  }
  tir.return
}

// A reduction into a loop-invariant address: 8 lanes of partial sums (one straight-line
// vector here), combined by one vector.reduction, then added to the accumulator.
// CHECK-LABEL: tir.prim_func @reduce
// CHECK-NOT:   tir.for
// CHECK:       %[[ID:.*]] = arith.constant -0.000000e+00 : f32
// CHECK-NEXT:  %[[Z:.*]] = vector.broadcast %[[ID]] : f32 to vector<8xf32>
// CHECK-NEXT:  %[[X:.*]] = vector.load %a[%{{.*}}] : memref<8xf32>, vector<8xf32>
// CHECK-NEXT:  %[[S:.*]] = arith.addf %[[Z]], %[[X]] : vector<8xf32>
// CHECK-NEXT:  %[[R:.*]] = vector.reduction <add>, %[[S]] : vector<8xf32> into f32
// CHECK-NEXT:  %[[OLD:.*]] = memref.load %b[%c0] : memref<1xf32>
// CHECK-NEXT:  %[[NEW:.*]] = arith.addf %[[OLD]], %[[R]] : f32
// CHECK-NEXT:  memref.store %[[NEW]], %b[%c0] : memref<1xf32>
// CHECK-NEXT:  tir.return
tir.prim_func @reduce(%a: memref<8xf32>, %b: memref<1xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  tir.for %k = %c0 to %c8 step %c1 kind(vectorized) {
    %acc = memref.load %b[%c0] : memref<1xf32>
    %x = memref.load %a[%k] : memref<8xf32>
    %s = arith.addf %acc, %x : f32
    memref.store %s, %b[%c0] : memref<1xf32>
  }
  tir.return
}

// A max over 100 = 3 x 32 + 4: four 8-lane accumulators (one 32-lane vector kept in a
// local buffer) in a loop stepping by 32, one vector.reduction after it, and the last 4
// elements reduced on their own; the hot loop has no tail checks.
// CHECK-LABEL: tir.prim_func @reduce_loop
// CHECK:       tir.for %i = %c0 to %c4 step %c1 {
// CHECK:         %[[ACC:.*]] = tir.alloc "local" : memref<32xf32>
// CHECK-NEXT:    %[[NINF:.*]] = arith.constant 0xff800000 : f32
// CHECK-NEXT:    %[[INIT:.*]] = vector.broadcast %[[NINF]] : f32 to vector<32xf32>
// CHECK-NEXT:    vector.store %[[INIT]], %[[ACC]][%[[C0:.*]]] : memref<32xf32>, vector<32xf32>
// CHECK:         %[[UB:.*]] = arith.constant 96 : index
// CHECK-NEXT:    %[[STEP:.*]] = arith.constant 32 : index
// CHECK-NEXT:    tir.for %[[K:.*]] = %{{.*}} to %[[UB]] step %[[STEP]] {
// CHECK-NEXT:      %[[V:.*]] = vector.load %[[ACC]][%[[C0]]] : memref<32xf32>, vector<32xf32>
// CHECK-NEXT:      %[[X:.*]] = vector.load %a[%i, %[[K]]] : memref<4x100xf32>, vector<32xf32>
// CHECK-NEXT:      %[[M:.*]] = arith.maximumf %[[V]], %[[X]] : vector<32xf32>
// CHECK-NEXT:      vector.store %[[M]], %[[ACC]][%[[C0]]] : memref<32xf32>, vector<32xf32>
// CHECK-NEXT:    }
// CHECK-NEXT:    %[[F:.*]] = vector.load %[[ACC]][%[[C0]]] : memref<32xf32>, vector<32xf32>
// CHECK-NEXT:    %[[R:.*]] = vector.reduction <maximumf>, %[[F]] : vector<32xf32> into f32
// CHECK-NEXT:    %[[OLD:.*]] = memref.load %b[%i, %c0] : memref<4x1xf32>
// CHECK-NEXT:    %[[NEW:.*]] = arith.maximumf %[[OLD]], %[[R]] : f32
// CHECK-NEXT:    memref.store %[[NEW]], %b[%i, %c0] : memref<4x1xf32>
// CHECK:         vector.load %a[%i, %{{.*}}] : memref<4x100xf32>, vector<4xf32>
// CHECK:         vector.reduction <maximumf>, %{{.*}} : vector<4xf32> into f32
// CHECK-NOT:     kind(vectorized)
// CHECK:       tir.return
tir.prim_func @reduce_loop(%a: memref<4x100xf32>, %b: memref<4x1xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c100 = arith.constant 100 : index
  tir.for %i = %c0 to %c4 step %c1 {
    tir.for %k = %c0 to %c100 step %c1 kind(vectorized) {
      %acc = memref.load %b[%i, %c0] : memref<4x1xf32>
      %x = memref.load %a[%i, %k] : memref<4x100xf32>
      %m = arith.maximumf %acc, %x : f32
      memref.store %m, %b[%i, %c0] : memref<4x1xf32>
    }
  }
  tir.return
}

// Integer sums too (accumulator operand second); 20 elements fit one 20-lane vector.
// CHECK-LABEL: tir.prim_func @reduce_int
// CHECK:       arith.constant 0 : i32
// CHECK:       vector.load %a[%{{.*}}] : memref<20xi32>, vector<20xi32>
// CHECK:       arith.addi %{{.*}}, %{{.*}} : vector<20xi32>
// CHECK:       vector.reduction <add>, %{{.*}} : vector<20xi32> into i32
tir.prim_func @reduce_int(%a: memref<20xi32>, %b: memref<1xi32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c20 = arith.constant 20 : index
  tir.for %k = %c0 to %c20 step %c1 kind(vectorized) {
    %x = memref.load %a[%k] : memref<20xi32>
    %acc = memref.load %b[%c0] : memref<1xi32>
    %s = arith.addi %x, %acc : i32
    memref.store %s, %b[%c0] : memref<1xi32>
  }
  tir.return
}

// Refused: the accumulator is read by something else than its combining op (each lane
// would see its own partial value), so the loop stays serial and unchanged.
// CHECK-LABEL: tir.prim_func @reduce_read_twice
// CHECK:       tir.for %k = %c0 to %c8 step %c1 {
// CHECK-NEXT:    %acc = memref.load %b[%c0] : memref<1xf32>
tir.prim_func @reduce_read_twice(%a: memref<8xf32>, %b: memref<1xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  tir.for %k = %c0 to %c8 step %c1 kind(vectorized) {
    %acc = memref.load %b[%c0] : memref<1xf32>
    %x = memref.load %a[%k] : memref<8xf32>
    %y = arith.mulf %x, %acc : f32
    %s = arith.addf %acc, %y : f32
    memref.store %s, %b[%c0] : memref<1xf32>
  }
  tir.return
}

// An exp of a loop-invariant value stays one scalar call, then is broadcast.
// CHECK-LABEL: tir.prim_func @exp_uniform
// CHECK:       %[[S:.*]] = memref.load %a[%c0] : memref<8xf32>
// CHECK-NEXT:  %[[E:.*]] = math.exp %[[S]] : f32
// CHECK-NEXT:  %[[M:.*]] = arith.maximumf %[[E]], %{{.*}} : f32
// CHECK-NEXT:  vector.broadcast %[[M]] : f32 to vector<8xf32>
tir.prim_func @exp_uniform(%a: memref<8xf32>, %b: memref<8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %f0 = arith.constant 0.0 : f32
  tir.for %k = %c0 to %c8 step %c1 kind(vectorized) {
    %s = memref.load %a[%c0] : memref<8xf32>
    %e = math.exp %s : f32
    %m = arith.maximumf %e, %f0 : f32
    memref.store %m, %b[%k] : memref<8xf32>
  }
  tir.return
}

// One trip: the loop folds away, the body stays scalar at the lower bound.
// CHECK-LABEL: tir.prim_func @single
// CHECK-NOT:   tir.for
// CHECK:       %x = memref.load %a[%c3] : memref<8xf32>
// CHECK-NEXT:  memref.store %x, %b[%c3] : memref<8xf32>
tir.prim_func @single(%a: memref<8xf32>, %b: memref<8xf32>) {
  %c1 = arith.constant 1 : index
  %c3 = arith.constant 3 : index
  %c4 = arith.constant 4 : index
  tir.for %k = %c3 to %c4 step %c1 kind(vectorized) {
    %x = memref.load %a[%k] : memref<8xf32>
    memref.store %x, %b[%k] : memref<8xf32>
  }
  tir.return
}
