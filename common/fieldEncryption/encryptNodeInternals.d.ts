// Types of the two internal builders of @aws-crypto/encrypt-node that fieldCipher.ts uses (see there).
declare module '@aws-crypto/encrypt-node/build/main/src/encrypt_stream' {
  export function getEncryptionInfo(
    material: unknown,
    frameLength: number,
  ): { getCipher: unknown; messageHeader: unknown; rawHeader: Buffer[]; dispose(): void };
}
declare module '@aws-crypto/encrypt-node/build/main/src/framed_encrypt_stream' {
  export function getEncryptFrame(input: {
    pendingFrame: { content: Buffer[]; contentLength: number; sequenceNumber: number };
    messageHeader: unknown;
    getCipher: unknown;
    isFinalFrame: boolean;
    suite: unknown;
  }): { bodyHeader: Buffer; cipher: { update(b: Buffer): Buffer; final(): Buffer; getAuthTag(): Buffer } };
}
