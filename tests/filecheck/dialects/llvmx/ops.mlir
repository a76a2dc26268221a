// RUN: xtvm-opt %s | xtvm-opt | filecheck %s
// RUN: xtvm-opt %s --print-op-generic | xtvm-opt | filecheck %s

// CHECK-LABEL: func.func @ops
func.func @ops(%a: vector<8xf32>, %b: vector<8xf32>, %i: vector<8xi32>, %k: i32) {
  // CHECK: %m = llvmx.fcmp "olt" %a, %b : vector<8xf32> -> vector<8xi1>
  %m = llvmx.fcmp "olt" %a, %b : vector<8xf32> -> vector<8xi1>
  // CHECK-NEXT: %s = llvmx.select %m, %a, %b : vector<8xi1>, vector<8xf32>
  %s = llvmx.select %m, %a, %b : vector<8xi1>, vector<8xf32>
  // CHECK-NEXT: %f = llvmx.sitofp %i : vector<8xi32> to vector<8xf32>
  %f = llvmx.sitofp %i : vector<8xi32> to vector<8xf32>
  // CHECK-NEXT: %g = llvmx.fptosi %a : vector<8xf32> to vector<8xi32>
  %g = llvmx.fptosi %a : vector<8xf32> to vector<8xi32>
  // CHECK-NEXT: %u = llvmx.uitofp %i : vector<8xi32> to vector<8xf32>
  %u = llvmx.uitofp %i : vector<8xi32> to vector<8xf32>
  // CHECK-NEXT: %v = llvmx.fptoui %a : vector<8xf32> to vector<8xi32>
  %v = llvmx.fptoui %a : vector<8xf32> to vector<8xi32>
  // CHECK-NEXT: %e = llvmx.extractelement %a[%k : i32] : vector<8xf32> -> f32
  %e = llvmx.extractelement %a[%k : i32] : vector<8xf32> -> f32
  func.return
}
