/* spv_ops.h — the numbers of the SPIR-V 1.3 binary form that the backend
 * writes (opcodes, enums of the core grammar, GLSL.std.450 instructions),
 * from the SPIR-V specification (Khronos, unified 1.6 rev. 2, section 3).
 * Only what codegen/spirv uses is listed; SPIRV-Tools validates every
 * module in the tests, so a wrong number here fails loudly.
 */
#ifndef SMELT_SPV_OPS_H
#define SMELT_SPV_OPS_H

enum {
    SpvMagic = 0x07230203,
    SpvVersion13 = 0x00010300,
};

typedef enum spv_opcode {
    SpvOpName = 5,
    SpvOpExtension = 10,
    SpvOpExtInstImport = 11,
    SpvOpExtInst = 12,
    SpvOpMemoryModel = 14,
    SpvOpEntryPoint = 15,
    SpvOpExecutionMode = 16,
    SpvOpCapability = 17,
    SpvOpTypeVoid = 19,
    SpvOpTypeBool = 20,
    SpvOpTypeInt = 21,
    SpvOpTypeFloat = 22,
    SpvOpTypeVector = 23,
    SpvOpTypeRuntimeArray = 29,
    SpvOpTypeStruct = 30,
    SpvOpTypePointer = 32,
    SpvOpTypeFunction = 33,
    SpvOpConstantTrue = 41,
    SpvOpConstantFalse = 42,
    SpvOpConstant = 43,
    SpvOpConstantComposite = 44,
    SpvOpSpecConstant = 50,
    SpvOpSpecConstantComposite = 51,
    SpvOpFunction = 54,
    SpvOpFunctionParameter = 55,
    SpvOpFunctionEnd = 56,
    SpvOpFunctionCall = 57,
    SpvOpVariable = 59,
    SpvOpLoad = 61,
    SpvOpStore = 62,
    SpvOpAccessChain = 65,
    SpvOpDecorate = 71,
    SpvOpMemberDecorate = 72,
    SpvOpCompositeExtract = 81,
    SpvOpConvertFToU = 109,
    SpvOpConvertFToS = 110,
    SpvOpConvertSToF = 111,
    SpvOpConvertUToF = 112,
    SpvOpUConvert = 113,
    SpvOpSConvert = 114,
    SpvOpFConvert = 115,
    SpvOpBitcast = 124,
    SpvOpSNegate = 126,
    SpvOpFNegate = 127,
    SpvOpIAdd = 128,
    SpvOpFAdd = 129,
    SpvOpISub = 130,
    SpvOpFSub = 131,
    SpvOpIMul = 132,
    SpvOpFMul = 133,
    SpvOpUDiv = 134,
    SpvOpSDiv = 135,
    SpvOpFDiv = 136,
    SpvOpUMod = 137,
    SpvOpSRem = 138,
    SpvOpFRem = 140,
    SpvOpIsNan = 156,
    SpvOpIsInf = 157,
    SpvOpLogicalEqual = 164,
    SpvOpLogicalNotEqual = 165,
    SpvOpLogicalOr = 166,
    SpvOpLogicalAnd = 167,
    SpvOpLogicalNot = 168,
    SpvOpSelect = 169,
    SpvOpIEqual = 170,
    SpvOpINotEqual = 171,
    SpvOpUGreaterThan = 172,
    SpvOpSGreaterThan = 173,
    SpvOpUGreaterThanEqual = 174,
    SpvOpSGreaterThanEqual = 175,
    SpvOpULessThan = 176,
    SpvOpSLessThan = 177,
    SpvOpULessThanEqual = 178,
    SpvOpSLessThanEqual = 179,
    SpvOpFOrdEqual = 180,
    SpvOpFUnordNotEqual = 183,
    SpvOpFOrdLessThan = 184,
    SpvOpFOrdGreaterThan = 186,
    SpvOpFOrdLessThanEqual = 188,
    SpvOpFOrdGreaterThanEqual = 190,
    SpvOpShiftRightLogical = 194,
    SpvOpShiftRightArithmetic = 195,
    SpvOpShiftLeftLogical = 196,
    SpvOpBitwiseOr = 197,
    SpvOpBitwiseXor = 198,
    SpvOpBitwiseAnd = 199,
    SpvOpNot = 200,
    SpvOpLoopMerge = 246,
    SpvOpSelectionMerge = 247,
    SpvOpLabel = 248,
    SpvOpBranch = 249,
    SpvOpBranchConditional = 250,
    SpvOpReturn = 253,
    SpvOpReturnValue = 254,
    /* SPV_NV_cooperative_matrix */
    SpvOpTypeCooperativeMatrixNV = 5358,
    SpvOpCooperativeMatrixLoadNV = 5359,
    SpvOpCooperativeMatrixStoreNV = 5360,
    SpvOpCooperativeMatrixMulAddNV = 5361,
} spv_opcode;

enum {
    SpvCapShader = 1, SpvCapFloat64 = 10, SpvCapInt64 = 11, SpvCapInt16 = 22, SpvCapInt8 = 39,
    SpvCapStorageBuffer16BitAccess = 4433, SpvCapStorageBuffer8BitAccess = 4448,
    SpvCapFloat16 = 9, SpvCapGroupNonUniform = 61, SpvCapCooperativeMatrixNV = 5357,
};
enum { SpvDecoSpecId = 1, SpvDecoBlock = 2, SpvDecoArrayStride = 6, SpvDecoBuiltIn = 11, SpvDecoRestrict = 19,
       SpvDecoNonWritable = 24, SpvDecoBinding = 33, SpvDecoDescriptorSet = 34, SpvDecoOffset = 35 };
enum { SpvBuiltInNumWorkgroups = 24, SpvBuiltInWorkgroupSize = 25, SpvBuiltInGlobalInvocationId = 28,
       SpvBuiltInSubgroupId = 40 };
enum { SpvScopeSubgroup = 3 };
enum { SpvStorageInput = 1, SpvStorageWorkgroup = 4, SpvStorageFunction = 7, SpvStorageStorageBuffer = 12 };
enum { SpvExecModelGLCompute = 5, SpvAddressingLogical = 0, SpvMemoryModelGLSL450 = 1 };

/* GLSL.std.450 extended instructions */
enum {
    GLSLRoundEven = 2, GLSLTrunc = 3, GLSLFAbs = 4, GLSLFloor = 8, GLSLCeil = 9, GLSLSin = 13, GLSLCos = 14,
    GLSLTan = 15, GLSLAsin = 16, GLSLAcos = 17, GLSLAtan = 18, GLSLSinh = 19, GLSLCosh = 20, GLSLTanh = 21,
    GLSLAsinh = 22, GLSLAcosh = 23, GLSLAtanh = 24, GLSLPow = 26, GLSLExp = 27, GLSLLog = 28, GLSLSqrt = 31,
    GLSLFClamp = 43, GLSLFma = 50, GLSLUnpackHalf2x16 = 62,
};

#endif
