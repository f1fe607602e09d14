/** Where apply put the model: the Deployment that runs it, its pods' selector, and the Service with the NodePort chosen. */
export interface DeployTarget {
  namespace: string;
  deployment: string;
  /** The Deployment's pod selector (logs and live update find the pods by it). */
  selector: string;
  service: string | undefined;
  nodePort: number;
}
