/**
 * Who is asking: the apiserver's x509 authenticator (k8s.io/apiserver pkg/authentication/request/
 * x509: the user is the client certificate's CommonName, its groups the Organizations) for a
 * certificate the cluster CA signed, and the anonymous user for a request with no credentials
 * (kube-apiserver's --anonymous-auth defaults to true, and kubeadm keeps it). Credentials that do
 * not verify (a certificate of another CA, any bearer token: the stand-in issues none) get 401,
 * as a real apiserver answers when every authenticator rejects them.
 */
import type { IncomingMessage } from "node:http";
import type { TLSSocket } from "node:tls";
import { ApiError } from "./status.js";

export interface UserInfo {
  name: string;
  groups: string[];
}

export const ANONYMOUS: UserInfo = { name: "system:anonymous", groups: ["system:unauthenticated"] };

function unauthorized(): ApiError {
  return new ApiError(401, "Unauthorized", "Unauthorized");
}

function list(value: string | string[] | undefined): string[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

export function authenticate(req: IncomingMessage): UserInfo {
  const socket = req.socket as TLSSocket;
  const certificate = typeof socket.getPeerCertificate === "function" ? socket.getPeerCertificate() : undefined;
  const presented = certificate !== undefined && Object.keys(certificate).length > 0;
  if (presented) {
    if (!socket.authorized) throw unauthorized();
    const name = list(certificate.subject.CN)[0] ?? "";
    if (!name) throw unauthorized();
    return { name, groups: [...list(certificate.subject.O), "system:authenticated"] };
  }
  if (req.headers.authorization) throw unauthorized();
  return ANONYMOUS;
}
