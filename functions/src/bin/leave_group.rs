//! The `leave_group` Lambda: see `im_functions::by_name::leave_group`.
#[tokio::main]
async fn main() -> Result<(), im_functions::Error> {
    im_functions::lambda_main(im_functions::by_name::leave_group()).await
}
