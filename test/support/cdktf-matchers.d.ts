// The types of the matchers test/support/setup-jest.ts installs (cdktf declares them in a file its index does not load).
import 'cdktf/lib/testing/adapters/jest';
