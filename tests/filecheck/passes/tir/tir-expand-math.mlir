// RUN: xtvm-opt %s -p tir-expand-math | filecheck %s

// A vector erf becomes a clamped odd rational polynomial; a scalar one stays a call.
// CHECK-LABEL: tir.prim_func @erf
// CHECK-NOT:   math.erf %{{.*}} : vector<8xf32>
// CHECK:       arith.maximumf %{{.*}} : vector<8xf32>
// CHECK:       arith.minimumf %{{.*}} : vector<8xf32>
// CHECK:       arith.divf %{{.*}} : vector<8xf32>
// CHECK:       math.erf %{{.*}} : f32
// CHECK:       math.tanh %{{.*}} : f64
// CHECK-NOT:   math.tanh %{{.*}} : vector<8xf32>
tir.prim_func @erf(%a: memref<8xf32>, %b: memref<8xf64>) {
  %c0 = arith.constant 0 : index
  %v = vector.load %a[%c0] : memref<8xf32>, vector<8xf32>
  %e = math.erf %v : vector<8xf32>
  vector.store %e, %a[%c0] : memref<8xf32>, vector<8xf32>
  %s = memref.load %a[%c0] : memref<8xf32>
  %se = math.erf %s : f32
  memref.store %se, %a[%c0] : memref<8xf32>
  %d = memref.load %b[%c0] : memref<8xf64>
  %dt = math.tanh %d : f64
  memref.store %dt, %b[%c0] : memref<8xf64>
  %t = math.tanh %v : vector<8xf32>
  vector.store %t, %a[%c0] : memref<8xf32>, vector<8xf32>
  tir.return
}

// A vector f32 exp becomes polynomial code with the exponent built in the bits (no expf
// call per lane); a scalar one stays a call.
// CHECK-LABEL: tir.prim_func @exp
// CHECK-NOT:   math.exp %{{.*}} : vector<8xf32>
// CHECK:       math.floor %{{.*}} : vector<8xf32>
// CHECK:       llvmx.fptosi %{{.*}} : vector<8xf32> to vector<8xi32>
// CHECK:       arith.shli %{{.*}} : vector<8xi32>
// CHECK:       arith.bitcast %{{.*}} : vector<8xi32> to vector<8xf32>
// CHECK:       llvmx.fcmp "uno"
// CHECK:       math.exp %{{.*}} : f32
tir.prim_func @exp(%a: memref<8xf32>) {
  %c0 = arith.constant 0 : index
  %v = vector.load %a[%c0] : memref<8xf32>, vector<8xf32>
  %e = math.exp %v : vector<8xf32>
  vector.store %e, %a[%c0] : memref<8xf32>, vector<8xf32>
  %s = memref.load %a[%c0] : memref<8xf32>
  %se = math.exp %s : f32
  memref.store %se, %a[%c0] : memref<8xf32>
  tir.return
}
