// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/**
 * @title ReentrantToken
 * @notice A hostile ERC-20 payment token for tests: when armed, its `transferFrom` calls back into
 * a target (the Marketplace) with prepared calldata, to prove the reentrancy guard holds. No real
 * token behaves like this on purpose; it stands for any token with transfer hooks (ERC-777-like).
 */
contract ReentrantToken is ERC20 {
    address public reentryTarget;
    bytes public callData;

    constructor() ERC20("Reentrant", "RE") {}

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    function arm(address target_, bytes calldata callData_) external {
        reentryTarget = target_;
        callData = callData_;
    }

    function transferFrom(address from, address to, uint256 value) public override returns (bool) {
        address t = reentryTarget;
        if (t != address(0)) {
            reentryTarget = address(0);
            (bool ok, bytes memory ret) = t.call(callData);
            if (!ok) {
                assembly ("memory-safe") {
                    revert(add(ret, 0x20), mload(ret))
                }
            }
        }
        return super.transferFrom(from, to, value);
    }
}
