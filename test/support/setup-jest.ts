// cdktf's matchers (toHaveResource, toHaveResourceWithProperties, toBeValidTerraform …)
// so a failing synth assertion shows what was synthesized instead of `expected true`.
import { Testing } from 'cdktf';

Testing.setupJest();
